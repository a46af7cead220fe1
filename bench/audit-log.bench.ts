import { join } from 'node:path';
import { encodeCursor } from '../src/graphql/pagination';
import { cachedReadModels, copyDataDir, dataset, type Dataset } from './lib/store/dataset';
import { startBareApollo } from './lib/bare-apollo';
import { newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest as graphql } from './lib/graphql';
import type { ServerProcess } from './lib/server-process';
import { percentile, round } from './lib/stats';
import type { Benchmark } from './types';

/*
 * p99 latency of filtered `auditLog` pages over GraphQL HTTP, one request in flight, against
 * a gateway process whose read models hold the whole log (half of it one tenant's chain, the
 * one queried). The baseline is the p99 of `{ __typename }` on a bare Apollo process in the
 * same run, with the same client.
 */

const AUDIT_LOG = `query AuditLog($tenantId: ID, $first: Int, $after: String, $filter: AuditLogFilter) {
  auditLog(tenantId: $tenantId, first: $first, after: $after, filter: $filter) {
    edges { cursor node { id position occurredAt eventType tenantId actor { type id } resource { type id } requestId ip userAgent changes hash } }
    pageInfo { hasNextPage endCursor }
  }
}`;

interface AuditLogPage {
  auditLog: { edges: Array<{ cursor: string }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

interface Query {
  label: string;
  variables: Record<string, unknown>;
}

/** Realistic questions an auditor asks of the large tenant's chain: by type, by token, by actor, by time, paging from the middle. */
function queries(data: Dataset, chainLength: number): Query[] {
  const tenantId = data.largeTenant;
  const first = Date.parse(data.firstAt);
  const span = Date.parse(data.lastAt) - first;
  const instant = (fraction: number) => new Date(first + span * fraction).toISOString();
  const middle = encodeCursor('audit', Math.floor(chainLength));
  const list: Query[] = [
    { label: 'one event type', variables: { tenantId, first: 20, filter: { eventTypes: ['TokenRevoked'] } } },
    { label: 'two event types', variables: { tenantId, first: 50, filter: { eventTypes: ['TokenIssued', 'TokenRotated'] } } },
    { label: 'event type, from the middle', variables: { tenantId, first: 50, after: middle, filter: { eventTypes: ['ConnectionUsed'] } } },
    { label: 'actor, from the middle', variables: { tenantId, first: 50, after: middle, filter: { actorId: data.actorIds[1] } } },
    { label: 'one day', variables: { tenantId, first: 50, filter: { from: instant(0.5), to: instant(0.5 + 1 / 90) } } },
    { label: 'last month, one type', variables: { tenantId, first: 20, filter: { from: instant(2 / 3), eventTypes: ['AuthenticationFailed'] } } },
    { label: 'everything, from the middle', variables: { tenantId, first: 50, after: middle } },
  ];
  for (const tokenId of data.busyTokenIds.slice(0, 5)) {
    list.push({ label: 'one token', variables: { tenantId, first: 20, filter: { resourceType: 'token', resourceId: tokenId } } });
  }
  return list;
}

async function timed(request: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await request();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export const auditLogBenchmark: Benchmark = {
  id: 'audit-log',
  title: 'Filtered auditLog page p99 over GraphQL HTTP against a bare Apollo `{ __typename }`',
  async run({ quick, workDir }) {
    const log = (line: string) => process.stderr.write(`  audit-log: ${line}\n`);
    const data = await dataset('mixed', quick ? 100_000 : 1_000_000, { log });
    const dataDir = join(workDir, 'data');
    copyDataDir(data, dataDir, await cachedReadModels(data, log));
    const perQuery = quick ? 40 : 150;

    const credentials = { ...newGatewayCredentials(), masterKey: data.masterKey };
    let gateway: ServerProcess | null = null;
    let bare: ServerProcess | null = null;
    try {
      gateway = await startGateway(dataDir, credentials);
      const { url } = gateway;
      // The newest entry's seq is the chain's length; half of it is the middle.
      const newest = await graphql<AuditLogPage>(url, AUDIT_LOG, { tenantId: data.largeTenant, first: 1 }, credentials.rootSecret);
      const chainLength = Number(Buffer.from(newest.auditLog.edges[0]!.cursor, 'base64url').toString().split(':')[1]) / 2;
      const list = queries(data, chainLength);
      // Warm up, and make sure every query finds entries: an empty page would measure nothing.
      for (const query of list) {
        const page = await graphql<AuditLogPage>(url, AUDIT_LOG, query.variables, credentials.rootSecret);
        if (page.auditLog.edges.length === 0) throw new Error(`auditLog query "${query.label}" found no entries`);
      }
      const samples: number[] = [];
      const byQuery = new Map<string, number[]>();
      for (let round = 0; round < perQuery; round++) {
        for (const query of list) {
          const ms = await timed(() => graphql(url, AUDIT_LOG, query.variables, credentials.rootSecret));
          samples.push(ms);
          byQuery.set(query.label, [...(byQuery.get(query.label) ?? []), ms]);
        }
      }
      await gateway.stop();
      gateway = null;

      bare = await startBareApollo();
      const bareUrl = bare.url;
      for (let i = 0; i < 50; i++) await graphql(bareUrl, '{ __typename }', {});
      const baseline: number[] = [];
      for (let i = 0; i < samples.length; i++) baseline.push(await timed(() => graphql(bareUrl, '{ __typename }', {})));

      const slowest = [...byQuery].map(([label, ms]) => [label, percentile(ms, 0.99)] as const).sort((a, b) => b[1] - a[1])[0]!;
      return [
        {
          name: `auditLog filtered page p99 (${data.events} events, ${list.length} filters)`,
          value: percentile(samples, 0.99),
          unit: 'ms',
          baseline: { name: 'bare Apollo { __typename } p99', value: percentile(baseline, 0.99) },
          target: { kind: 'at-most', value: 20 },
          detail: {
            requests: samples.length,
            'p50 ms': round(percentile(samples, 0.5)),
            'baseline p50 ms': round(percentile(baseline, 0.5)),
            'slowest filter': slowest[0],
            'its p99 ms': round(slowest[1]),
          },
        },
      ];
    } finally {
      await gateway?.stop();
      await bare?.stop();
    }
  },
};
