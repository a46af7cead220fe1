import { join } from 'node:path';
import type { Benchmark, Figure } from './types';
import { issueToken, newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest, mapConcurrently } from './lib/graphql';
import { runLoad, type LoadOptions } from './lib/load';
import { measureRefusalLatency } from './lib/refusal-latency';
import { startResourceServer } from './lib/resource-server';
import { ProcessGroup } from './lib/server-process';
import { percentile, round } from './lib/stats';
import { LOAD_CONNECTIONS, loadPhaseSeconds } from './lib/throughput';

const TENANT = 'bench';
const REVOKE = 'mutation Revoke($input: RevokeTokenInput!) { revokeToken(input: $input) { id status } }';
const BODY = JSON.stringify({ query: '{ orders }' });
const revocations = (quick: boolean) => (quick ? 30 : 100);

/**
 * A resource server behind `requireCredential` of @keyledger/verifier (express), against the
 * same server without authentication, warm cache; and the time from `revokeToken`'s answer
 * to the first request the resource server refuses with that token.
 */
export const verifierMiddlewareBenchmark: Benchmark = {
  id: 'verifier-middleware',
  title: '@keyledger/verifier express middleware: throughput with a warm cache, and refusal after revocation',
  async run({ quick, workDir }) {
    const processes = new ProcessGroup();
    try {
      const credentials = newGatewayCredentials();
      const gateway = await processes.add(startGateway(join(workDir, 'data'), credentials));
      const root = credentials.rootSecret;
      const reader = await issueToken(gateway.url, root, { name: 'resource server', tenantId: TENANT, roles: ['keyledger:tokens:read'] });
      const writer = await issueToken(gateway.url, root, { name: 'revoker', tenantId: TENANT, roles: ['keyledger:tokens:write'] });
      const caller = await issueToken(gateway.url, root, { name: 'caller', tenantId: TENANT, roles: ['orders:read'] });
      const [open, guarded] = await Promise.all([
        processes.add(startResourceServer(null)),
        processes.add(startResourceServer({ url: gateway.url, token: reader.secret })),
      ]);

      const seconds = loadPhaseSeconds(quick);
      const load = (url: string, server: typeof open): Omit<LoadOptions, 'durationSeconds'> => ({
        url,
        server,
        bearer: caller.secret,
        nextBody: () => BODY,
        accept: (body) => body.includes('"ok":true'),
        connections: LOAD_CONNECTIONS,
      });
      await runLoad({ ...load(open.url, open), durationSeconds: seconds.warmup });
      await runLoad({ ...load(guarded.url, guarded), durationSeconds: seconds.warmup });
      const baseline = await runLoad({ ...load(open.url, open), durationSeconds: seconds.measure });
      const measured = await runLoad({ ...load(guarded.url, guarded), durationSeconds: seconds.measure });

      const count = revocations(quick);
      const victims = await mapConcurrently(Array.from({ length: count }, (_, i) => i), 4, (i) =>
        issueToken(gateway.url, root, { name: `revoked ${i}`, tenantId: TENANT, roles: ['orders:read'] }),
      );
      const secretOf = new Map(victims.map((victim) => [victim.id, victim.secret]));
      const status = async (id: string) =>
        (await fetch(`${guarded.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${secretOf.get(id)}`, 'content-type': 'application/json' }, body: BODY })).status;
      // Each token is verified (and cached) before it is revoked, as a token in use would be.
      for (const victim of victims) {
        const warm = await status(victim.id);
        if (warm !== 200) throw new Error(`a fresh token is refused by the resource server (${warm})`);
      }
      const samples = await measureRefusalLatency({
        ids: victims.map((victim) => victim.id),
        revoke: async (id) => {
          const data = await graphqlRequest<{ revokeToken: { status: string } }>(gateway.url, REVOKE, { input: { id, reason: 'bench' } }, writer.secret);
          if (data.revokeToken.status !== 'REVOKED') throw new Error(`revokeToken answered ${data.revokeToken.status}`);
        },
        refused: async (id) => (await status(id)) === 401,
        timeoutMs: 10_000,
      });

      const throughput: Figure = {
        name: 'resource server req/s behind requireCredential (warm cache)',
        value: round(measured.requestsPerSecond, 0),
        unit: 'req/s',
        baseline: { name: 'the same server without authentication', value: round(baseline.requestsPerSecond, 0) },
        target: { kind: 'ratio-at-least', ratio: 0.9 },
        detail: {
          'p50 ms': measured.p50Ms,
          'p99 ms': measured.p99Ms,
          'baseline p50 ms': baseline.p50Ms,
          'baseline p99 ms': baseline.p99Ms,
          requests: measured.requests,
          connections: measured.connections,
          seconds: measured.durationSeconds,
        },
      };
      const refusal: Figure = {
        name: 'revokeToken answered → first refused request, p99',
        value: round(percentile(samples, 0.99), 1),
        unit: 'ms',
        baseline: null,
        target: { kind: 'at-most', value: 100 },
        detail: { 'p50 ms': round(percentile(samples, 0.5), 1), 'max ms': round(Math.max(...samples), 1), revocations: samples.length },
      };
      return [throughput, refusal];
    } finally {
      await processes.stopAll();
    }
  },
};
