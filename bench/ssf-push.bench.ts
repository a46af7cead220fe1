import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { Benchmark, Figure } from './types';
import { issueToken, newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest, mapConcurrently } from './lib/graphql';
import { ProcessGroup } from './lib/server-process';
import { percentile, round } from './lib/stats';
import { openSubscribers, Receipts, waitForCount, wsUrl, type SubscriberPool } from './lib/subscribers';

const TENANT = 'bench';
/** As many as the revocation fan-out benchmark holds, so its figure and this one's baseline agree. */
const SUBSCRIBERS_PER_PROCESS = 500;
const WARMUP_ROUNDS = 1;
const RECEIPT_TIMEOUT_MS = 10_000;
const REVOKE = 'mutation Revoke($input: RevokeTokenInput!) { revokeToken(input: $input) { id status } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An RFC 8935 receiver that records when each credential's SET arrived and answers 202. */
async function startPushReceiver(receipts: Receipts): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      try {
        const claims = decodeJwt(Buffer.concat(chunks).toString('utf8'));
        const subject = claims.sub_id as { credential?: { id?: string } } | undefined;
        if (subject?.credential?.id) receipts.record(subject.credential.id, at);
      } catch (error) {
        receipts.failures.push(`not a SET: ${(error as Error).message}`);
      }
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, server };
}

async function gatewaySubscriptions(url: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^keyledger_subscriptions (\S+)$/m.exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * Time from the `revokeToken` HTTP response to the CAEP credential-change SET's arrival at
 * an SSF push receiver (RFC 8935), with two gateway processes on one data directory (either
 * may hold the stream's delivery). Baseline, from the same revocations: the `tokenRevoked`
 * notice's arrival at 1,000 GraphQL subscribers on the two processes, as in the
 * revocation fan-out benchmark.
 */
export const ssfPushBenchmark: Benchmark = {
  id: 'ssf-push',
  title: 'revocation to SSF push SET, beside the subscription fan-out, on two gateway processes',
  async run({ quick, workDir }) {
    const rounds = quick ? 5 : 20;
    const credentials = newGatewayCredentials();
    const dataDir = join(workDir, 'data');
    const processes = new ProcessGroup();
    const pools: SubscriberPool[] = [];
    const pushed = new Receipts();
    const receiver = await startPushReceiver(pushed);
    const push: number[] = [];
    const subscribed: number[] = [];
    try {
      // The receiver runs beside the gateways, on loopback, which production mode refuses unless allowed.
      const local = { env: { KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES: 'allow' } };
      const revoking = await processes.add(startGateway(dataDir, credentials, local));
      const other = await processes.add(startGateway(dataDir, credentials, local));
      const root = credentials.rootSecret;
      const writer = await issueToken(revoking.url, root, { name: 'bench revoker', tenantId: TENANT, roles: ['keyledger:tokens:write'] });
      const reader = await issueToken(revoking.url, root, { name: 'bench subscriber', tenantId: TENANT, roles: ['keyledger:tokens:read', 'keyledger:events:read'] });
      const created = await fetch(`${revoking.url}/ssf/streams`, {
        method: 'POST',
        headers: { authorization: `Bearer ${reader.secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: receiver.url } }),
      });
      if (created.status !== 201) throw new Error(`creating the push stream answered ${created.status}: ${await created.text()}`);
      const victims = await mapConcurrently(Array.from({ length: WARMUP_ROUNDS + rounds }, (_, i) => i), 4, (i) =>
        issueToken(revoking.url, root, { name: `revoked ${i}`, tenantId: TENANT, roles: ['deploy'] }),
      );

      const subscribers = new Receipts();
      for (const gateway of [revoking, other]) {
        pools.push(await openSubscribers(wsUrl(gateway.url), SUBSCRIBERS_PER_PROCESS, { authorization: `Bearer ${reader.secret}` }, subscribers));
        await waitForCount(() => gatewaySubscriptions(gateway.url), SUBSCRIBERS_PER_PROCESS, `subscriptions on ${gateway.url}`);
      }

      for (const [index, victim] of victims.entries()) {
        const data = await graphqlRequest<{ revokeToken: { status: string } }>(revoking.url, REVOKE, { input: { id: victim.id, reason: 'ssf benchmark' } }, writer.secret);
        const respondedAt = performance.now();
        if (data.revokeToken.status !== 'REVOKED') throw new Error(`revokeToken answered status ${data.revokeToken.status}`);
        const deadline = Date.now() + RECEIPT_TIMEOUT_MS;
        while (pushed.of(victim.id).length < 1 || subscribers.of(victim.id).length < 2 * SUBSCRIBERS_PER_PROCESS) {
          const failure = [...pushed.failures, ...subscribers.failures][0];
          if (failure) throw new Error(failure);
          if (Date.now() > deadline) {
            throw new Error(`revocation ${index}: ${pushed.of(victim.id).length} SETs and ${subscribers.of(victim.id).length} notices within ${RECEIPT_TIMEOUT_MS} ms`);
          }
          await sleep(5);
        }
        if (index >= WARMUP_ROUNDS) {
          push.push(...pushed.of(victim.id).map((at) => Math.max(0, at - respondedAt)));
          subscribed.push(...subscribers.of(victim.id).map((at) => Math.max(0, at - respondedAt)));
        }
        await sleep(50 + Math.random() * 50);
      }
      await sleep(100);
      const twice = victims.find((victim) => pushed.of(victim.id).length !== 1);
      if (twice) throw new Error(`the SET of ${twice.id} arrived ${pushed.of(twice.id).length} times`);
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
      await processes.stopAll();
      receiver.server.closeAllConnections();
      await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
    }
    const figure: Figure = {
      name: 'revocation → SSF push SET p99, 2 processes',
      value: round(percentile(push, 0.99), 1),
      unit: 'ms',
      baseline: { name: `tokenRevoked p99, ${(2 * SUBSCRIBERS_PER_PROCESS).toLocaleString('en-US')} subscribers`, value: round(percentile(subscribed, 0.99), 1) },
      target: { kind: 'at-most', value: 500 },
      detail: {
        'p50 ms': round(percentile(push, 0.5), 1),
        'max ms': round(Math.max(...push), 1),
        'baseline p50 ms': round(percentile(subscribed, 0.5), 1),
        SETs: push.length,
      },
    };
    return [figure];
  },
};
