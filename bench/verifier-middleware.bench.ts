import { join } from 'node:path';
import type { Benchmark, Figure } from './types';
import { issueToken, newGatewayCredentials, startGateway } from './lib/gateway';
import { graphqlRequest, mapConcurrently } from './lib/graphql';
import { runLoad, type LoadOptions, type LoadResult } from './lib/load';
import { measureRefusalLatency } from './lib/refusal-latency';
import { startResourceServer } from './lib/resource-server';
import { ProcessGroup, type ServerProcess } from './lib/server-process';
import { percentile, round } from './lib/stats';
import { LOAD_CONNECTIONS, loadPhaseSeconds } from './lib/throughput';

const TENANT = 'bench';
const REVOKE = 'mutation Revoke($input: RevokeTokenInput!) { revokeToken(input: $input) { id status } }';
const BODY = JSON.stringify({ query: '{ orders }' });
/** What both resource servers answer, byte for byte. */
const OK_BODY = JSON.stringify({ ok: true });
const revocations = (quick: boolean) => (quick ? 30 : 100);
/**
 * The two servers are measured in alternating rounds, each round one load phase against each
 * (the order flips every round), so that a neighbour's load on a shared machine falls on both
 * alike; the figure is the round with the median ratio. An odd count makes that one round.
 * Many short rounds rather than a few long ones: a neighbour's load changes from one second
 * to the next, so the two phases of a short round see more nearly the same machine, and the
 * median of 21 ratios moves less with a few disturbed rounds than the median of 11 did.
 */
const rounds = (quick: boolean) => (quick ? { count: 9, seconds: 1 } : { count: 21, seconds: 2 });

interface Round {
  baseline: LoadResult;
  measured: LoadResult;
  ratio: number;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * A resource server behind `requireCredential` of @keyledger/verifier (express), against the
 * same server without authentication, warm cache, in alternating rounds; and the time from `revokeToken`'s answer
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

      // The middleware is in place on one and only one of them.
      const unauthenticated = async (server: ServerProcess) =>
        (await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY })).status;
      const [openStatus, guardedStatus] = [await unauthenticated(open), await unauthenticated(guarded)];
      if (openStatus !== 200 || guardedStatus !== 401) throw new Error(`without a credential the open server answers ${openStatus}, the guarded one ${guardedStatus}`);

      // Identical requests to both, Authorization header included: only the middleware differs.
      const load = (server: ServerProcess, durationSeconds: number): LoadOptions => ({
        url: server.url,
        server,
        bearer: caller.secret,
        nextBody: () => BODY,
        accept: (body) => body === OK_BODY,
        connections: LOAD_CONNECTIONS,
        durationSeconds,
      });
      const warmup = loadPhaseSeconds(quick).warmup;
      await runLoad(load(open, warmup));
      await runLoad(load(guarded, warmup));
      const plan = rounds(quick);
      const measuredRounds: Round[] = [];
      for (let index = 0; index < plan.count; index++) {
        let baseline: LoadResult;
        let measured: LoadResult;
        if (index % 2 === 0) {
          baseline = await runLoad(load(open, plan.seconds));
          measured = await runLoad(load(guarded, plan.seconds));
        } else {
          measured = await runLoad(load(guarded, plan.seconds));
          baseline = await runLoad(load(open, plan.seconds));
        }
        measuredRounds.push({ baseline, measured, ratio: measured.requestsPerSecond / baseline.requestsPerSecond });
      }
      const middle = [...measuredRounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(plan.count / 2)];
      const cpuPerRequest = (results: LoadResult[]) => {
        const known = results.map((result) => result.serverCpuMsPerRequest).filter((value): value is number => value !== null);
        return known.length === results.length ? round(median(known), 3) : null;
      };
      const measuredCpu = cpuPerRequest(measuredRounds.map((entry) => entry.measured));
      const baselineCpu = cpuPerRequest(measuredRounds.map((entry) => entry.baseline));
      // Server CPU time per request, baseline's over the middleware's, round by round: what the
      // requests/s ratio would be if each server had a core to itself.
      const cpuRatios = measuredRounds.map(({ baseline, measured }) =>
        baseline.serverCpuMsPerRequest !== null && measured.serverCpuMsPerRequest ? baseline.serverCpuMsPerRequest / measured.serverCpuMsPerRequest : null,
      );
      const cpuRatio = cpuRatios.every((ratio) => ratio !== null) ? round(median(cpuRatios as number[]), 2) : null;

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
        value: round(middle.measured.requestsPerSecond, 0),
        unit: 'req/s',
        baseline: { name: 'the same server without authentication', value: round(middle.baseline.requestsPerSecond, 0) },
        target: { kind: 'ratio-at-least', ratio: 0.9 },
        detail: {
          'ratio per round': measuredRounds.map((entry) => entry.ratio.toFixed(2)).join(' '),
          'p50 ms': middle.measured.p50Ms,
          'p99 ms': middle.measured.p99Ms,
          'baseline p50 ms': middle.baseline.p50Ms,
          'baseline p99 ms': middle.baseline.p99Ms,
          ...(measuredCpu !== null && baselineCpu !== null && cpuRatio !== null
            ? { 'server CPU ms/req (median)': measuredCpu, 'baseline server CPU ms/req (median)': baselineCpu, 'CPU ratio (median of rounds)': cpuRatio }
            : {}),
          requests: middle.measured.requests,
          connections: LOAD_CONNECTIONS,
          'seconds per phase': plan.seconds,
          rounds: plan.count,
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
