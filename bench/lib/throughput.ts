import { join } from 'node:path';
import { startBareApollo } from './bare-apollo';
import { issueToken, newGatewayCredentials, startGateway, type GatewayCredentials, type IssuedToken } from './gateway';
import { hasNoGraphQLErrors, runLoad, type LoadOptions, type LoadResult } from './load';
import type { ProcessGroup, ServerProcess } from './server-process';
import { round } from './stats';

/** Concurrent keep-alive connections in every HTTP load phase, gateway and baseline alike. */
export const LOAD_CONNECTIONS = 10;

/** Seconds of warm-up (discarded) and of measurement in each HTTP load phase. */
export function loadPhaseSeconds(quick: boolean): { warmup: number; measure: number } {
  return quick ? { warmup: 1, measure: 3 } : { warmup: 3, measure: 10 };
}

export const BASELINE_NAME = 'bare Apollo { __typename }';
const BASELINE_BODY = JSON.stringify({ query: '{ __typename }' });

export interface ComparedGateway {
  bare: ServerProcess;
  gateway: ServerProcess;
  credentials: GatewayCredentials;
  /** The token the measured requests are sent with. */
  caller: IssuedToken;
}

/**
 * Starts, in `processes`, the bare Apollo baseline and a gateway on a fresh data directory in
 * `workDir` side by side, and issues the caller token (`name`, `tenantId`, `roles`) with the root token.
 */
export async function startComparedGateway(
  processes: ProcessGroup,
  workDir: string,
  caller: { name: string; tenantId: string; roles: string[] },
): Promise<ComparedGateway> {
  const credentials = newGatewayCredentials();
  const bare = processes.add(startBareApollo());
  const gateway = await processes.add(startGateway(join(workDir, 'data'), credentials));
  const issued = await issueToken(gateway.url, credentials.rootSecret, caller);
  return { bare: await bare, gateway, credentials, caller: issued };
}

export interface Comparison {
  /** The round whose ratio is the median of all rounds'. */
  measured: LoadResult;
  baseline: LoadResult;
  /** measured ÷ baseline requests/s, round by round, in the order they ran. */
  roundRatios: number[];
}

/** Rounds of one baseline and one measured phase each; full: 5 of 2 s (the 10 s of one phase before), quick: 3 of 1 s. */
const comparisonRounds = (quick: boolean) => (quick ? { count: 3, seconds: 1 } : { count: 5, seconds: 2 });

/**
 * Measures a gateway operation and, with identical autocannon settings, the bare Apollo
 * server (`startBareApollo`) answering `{ __typename }`. Both are warmed up first, then loaded
 * in alternating rounds (the order flips every round), so that a neighbour's load on a shared
 * machine falls on both alike; the figure is the round with the median ratio.
 */
export async function compareWithBareApollo(
  quick: boolean,
  bare: ServerProcess,
  load: Omit<LoadOptions, 'connections' | 'durationSeconds'>,
): Promise<Comparison> {
  const seconds = loadPhaseSeconds(quick);
  const baselineLoad: Omit<LoadOptions, 'durationSeconds'> = {
    url: bare.url,
    server: bare,
    nextBody: () => BASELINE_BODY,
    accept: (body) => hasNoGraphQLErrors(body) && body.includes('"__typename":"Query"'),
    connections: LOAD_CONNECTIONS,
  };
  const measuredLoad: Omit<LoadOptions, 'durationSeconds'> = { ...load, connections: LOAD_CONNECTIONS };
  await runLoad({ ...baselineLoad, durationSeconds: seconds.warmup });
  await runLoad({ ...measuredLoad, durationSeconds: seconds.warmup });
  const plan = comparisonRounds(quick);
  const rounds: Array<{ measured: LoadResult; baseline: LoadResult; ratio: number }> = [];
  for (let index = 0; index < plan.count; index++) {
    let baseline: LoadResult;
    let measured: LoadResult;
    if (index % 2 === 0) {
      baseline = await runLoad({ ...baselineLoad, durationSeconds: plan.seconds });
      measured = await runLoad({ ...measuredLoad, durationSeconds: plan.seconds });
    } else {
      measured = await runLoad({ ...measuredLoad, durationSeconds: plan.seconds });
      baseline = await runLoad({ ...baselineLoad, durationSeconds: plan.seconds });
    }
    rounds.push({ measured, baseline, ratio: measured.requestsPerSecond / baseline.requestsPerSecond });
  }
  const middle = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
  return { measured: middle.measured, baseline: middle.baseline, roundRatios: rounds.map((entry) => entry.ratio) };
}

/** The facts printed beside a throughput figure. */
export function comparisonDetail(comparison: Comparison): Record<string, number | string> {
  const { measured, baseline } = comparison;
  return {
    'p50 ms': measured.p50Ms,
    'p99 ms': measured.p99Ms,
    'baseline p50 ms': baseline.p50Ms,
    'baseline p99 ms': baseline.p99Ms,
    ...(measured.serverCpuMsPerRequest !== null && baseline.serverCpuMsPerRequest !== null
      ? {
          'server CPU ms/req': round(measured.serverCpuMsPerRequest, 3),
          'baseline server CPU ms/req': round(baseline.serverCpuMsPerRequest, 3),
        }
      : {}),
    ...(measured.serverWriteCallsPerRequest !== null && baseline.serverWriteCallsPerRequest !== null
      ? {
          'server write calls/req': round(measured.serverWriteCallsPerRequest, 1),
          'baseline server write calls/req': round(baseline.serverWriteCallsPerRequest, 1),
        }
      : {}),
    'ratio per round': comparison.roundRatios.map((ratio) => ratio.toFixed(2)).join(' '),
    requests: measured.requests,
    connections: measured.connections,
    'seconds per phase': measured.durationSeconds,
    rounds: comparison.roundRatios.length,
  };
}
