import { join } from 'node:path';
import type { Benchmark, Figure } from './types';
import { bareSubscriptionCount, publishBareNotice, startBareGraphqlWs } from './lib/bare-graphql-ws';
import { measureFanout, type FanoutMeasurement } from './lib/fanout';
import { issueToken, newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest, mapConcurrently } from './lib/graphql';
import { ProcessGroup, type ServerProcess } from './lib/server-process';
import { percentile, round } from './lib/stats';
import { openSubscribers, Receipts, waitForCount, wsUrl, type SubscriberPool } from './lib/subscribers';

const TENANT = 'bench';
const SUBSCRIBERS_PER_PROCESS = 500;
const WARMUP_ROUNDS = 1;
const RECEIPT_TIMEOUT_MS = 10_000;
const REVOKE = 'mutation Revoke($input: RevokeTokenInput!) { revokeToken(input: $input) { id status } }';

async function gatewaySubscriptions(gateway: ServerProcess): Promise<number | null> {
  const text = await (await fetch(`${gateway.url}/metrics`)).text();
  const match = /^keyledger_subscriptions (\S+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

async function measureGateways(workDir: string, rounds: number): Promise<FanoutMeasurement> {
  const credentials = newGatewayCredentials();
  const dataDir = join(workDir, 'data');
  const processes = new ProcessGroup();
  const pools: SubscriberPool[] = [];
  try {
    const revoking = await processes.add(startGateway(dataDir, credentials));
    // Started once the first has created the store and the bootstrap token it will find there.
    const other = processes.add(startGateway(dataDir, credentials));
    const root = credentials.rootSecret;
    const writer = await issueToken(revoking.url, root, { name: 'bench revoker', tenantId: TENANT, roles: ['keyledger:tokens:write'] });
    const reader = await issueToken(revoking.url, root, { name: 'bench subscriber', tenantId: TENANT, roles: ['keyledger:tokens:read'] });
    const victims = await mapConcurrently(Array.from({ length: WARMUP_ROUNDS + rounds }, (_, i) => i), 4, (i) =>
      issueToken(revoking.url, root, { name: `revoked ${i}`, tenantId: TENANT, roles: ['deploy'] }),
    );
    const gateways = [revoking, await other];

    const groups = gateways.map(() => new Receipts());
    const opened = await Promise.allSettled(
      gateways.map(async (gateway, index) => {
        const params = { authorization: `Bearer ${reader.secret}` };
        const pool = await openSubscribers(wsUrl(gateway.url), SUBSCRIBERS_PER_PROCESS, params, groups[index]);
        pools.push(pool);
        await waitForCount(() => gatewaySubscriptions(gateway), SUBSCRIBERS_PER_PROCESS, `subscriptions on ${gateway.url}`);
      }),
    );
    const failed = opened.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;

    return await measureFanout({
      groups,
      subscribersPerGroup: SUBSCRIBERS_PER_PROCESS,
      ids: victims.map((victim) => victim.id),
      warmupRounds: WARMUP_ROUNDS,
      timeoutMs: RECEIPT_TIMEOUT_MS,
      trigger: async (id) => {
        const sentAt = performance.now();
        const input = { id, reason: 'fan-out benchmark' };
        const data = await graphqlRequest<{ revokeToken: { status: string } }>(revoking.url, REVOKE, { input }, writer.secret);
        const respondedAt = performance.now();
        if (data.revokeToken.status !== 'REVOKED') throw new Error(`revokeToken answered status ${data.revokeToken.status}`);
        return { sentAt, respondedAt };
      },
    });
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
    await processes.stopAll();
  }
}

async function measureBareBroadcast(server: ServerProcess, rounds: number): Promise<FanoutMeasurement> {
  const receipts = new Receipts();
  const subscribers = 2 * SUBSCRIBERS_PER_PROCESS;
  const pool = await openSubscribers(wsUrl(server.url), subscribers, {}, receipts);
  try {
    await waitForCount(() => bareSubscriptionCount(server.url), subscribers, 'subscriptions on the bare graphql-ws server');
    return await measureFanout({
      groups: [receipts],
      subscribersPerGroup: subscribers,
      ids: Array.from({ length: WARMUP_ROUNDS + rounds }, (_, i) => `broadcast-${i}`),
      warmupRounds: WARMUP_ROUNDS,
      timeoutMs: RECEIPT_TIMEOUT_MS,
      trigger: async (id) => {
        const sentAt = performance.now();
        await publishBareNotice(server.url, id);
        return { sentAt, respondedAt: performance.now() };
      },
    });
  } finally {
    await pool.close();
  }
}

/**
 * Time from the `revokeToken` HTTP response to the `tokenRevoked` notice's arrival at 1,000
 * subscribers: 500 on the gateway process that revoked, 500 on a second process sharing its
 * data directory, which learns of the revocation from the log. Baseline: a bare graphql-ws
 * server broadcasting to 1,000 subscribers from memory, timed the same way.
 */
export const revocationFanoutBenchmark: Benchmark = {
  id: 'revocation-fanout',
  title: 'revocation notice fan-out to 1,000 subscribers on two gateway processes',
  async run({ quick, workDir }) {
    const rounds = quick ? 5 : 20;
    const bareProcess = new ProcessGroup();
    let gateway: FanoutMeasurement;
    let baseline: FanoutMeasurement;
    try {
      // Idle until the gateways are measured and stopped.
      const bareServer = bareProcess.add(startBareGraphqlWs());
      gateway = await measureGateways(workDir, rounds);
      baseline = await measureBareBroadcast(await bareServer, rounds);
    } finally {
      await bareProcess.stopAll();
    }
    const all = gateway.latenciesMs.flat();
    const [local, remote] = gateway.latenciesMs;
    const bare = baseline.latenciesMs.flat();
    const figure: Figure = {
      name: `tokenRevoked p99, ${(2 * SUBSCRIBERS_PER_PROCESS).toLocaleString('en-US')} subscribers on 2 processes`,
      value: round(percentile(all, 0.99), 1),
      unit: 'ms',
      baseline: { name: 'bare graphql-ws broadcast p99', value: round(percentile(bare, 0.99), 1) },
      target: { kind: 'at-most', value: 100 },
      detail: {
        'p50 ms': round(percentile(all, 0.5), 1),
        'p99 ms revoking process': round(percentile(local, 0.99), 1),
        'p99 ms other process': round(percentile(remote, 0.99), 1),
        'max ms': round(Math.max(...all), 1),
        'baseline p50 ms': round(percentile(bare, 0.5), 1),
        'p99 ms from request sent': round(percentile(gateway.sinceSentMs, 0.99), 1),
        'baseline p99 ms from request sent': round(percentile(baseline.sinceSentMs, 0.99), 1),
        receipts: all.length,
        'before response': gateway.beforeResponse,
        revocations: gateway.rounds,
      },
    };
    return [figure];
  },
};
