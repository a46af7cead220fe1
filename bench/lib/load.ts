import autocannon from 'autocannon';
import type { ServerProcess } from './server-process';

export interface LoadOptions {
  /** Server base URL; requests go to `POST {url}/graphql`. */
  url: string;
  bearer?: string;
  /** The JSON body of the next request; called once per request. */
  nextBody: () => string;
  /** Whether a 2xx response body is the answer the benchmark means to measure. */
  accept: (body: string) => boolean;
  connections: number;
  durationSeconds: number;
  /** The server process answering, to report the CPU time it spent per request. */
  server?: ServerProcess;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  connections: number;
  durationSeconds: number;
  /** CPU time the server process spent per request during the phase; null when unknown. */
  serverCpuMsPerRequest: number | null;
  /** Write system calls the server process made per request during the phase; null when unknown. */
  serverWriteCallsPerRequest: number | null;
}

/** A load phase in which some response was not the one measured: its figures would describe an error path. */
export class LoadFailure extends Error {
  override name = 'LoadFailure';
}

/**
 * One autocannon phase against a GraphQL endpoint. Connection errors, timeouts, non-2xx
 * statuses and bodies `accept` refuses (GraphQL errors, wrong answers) fail the phase with a
 * LoadFailure quoting the first refused body, instead of being averaged in.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let firstRefused: string | null = null;
  const cpuBefore = options.server?.cpuSeconds() ?? null;
  const writesBefore = options.server?.writeCalls() ?? null;
  const result = await autocannon({
    url: `${options.url}/graphql`,
    connections: options.connections,
    duration: options.durationSeconds,
    pipelining: 1,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(options.bearer ? { authorization: `Bearer ${options.bearer}` } : {}) },
        setupRequest: (request) => ({ ...request, body: options.nextBody() }),
      },
    ],
    verifyBody: (body) => {
      const accepted = options.accept(body);
      if (!accepted) firstRefused ??= body;
      return accepted;
    },
  });
  const cpuAfter = options.server?.cpuSeconds() ?? null;
  const writesAfter = options.server?.writeCalls() ?? null;
  const failed = { errors: result.errors, timeouts: result.timeouts, non2xx: result.non2xx, refusedBodies: result.mismatches };
  if (Object.values(failed).some((count) => count > 0) || result.requests.total === 0) {
    const counts = Object.entries(failed)
      .map(([name, count]) => `${name}=${count}`)
      .join(' ');
    throw new LoadFailure(
      `load phase against ${options.url} failed: ${counts} of ${result.requests.sent} requests` +
        (firstRefused ? `; first refused body: ${String(firstRefused).slice(0, 300)}` : ''),
    );
  }
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    connections: options.connections,
    durationSeconds: result.duration,
    serverCpuMsPerRequest: cpuBefore !== null && cpuAfter !== null ? ((cpuAfter - cpuBefore) * 1000) / result.requests.total : null,
    serverWriteCallsPerRequest: writesBefore !== null && writesAfter !== null ? (writesAfter - writesBefore) / result.requests.total : null,
  };
}

/** Whether a GraphQL response body carries no `errors` entry. */
export function hasNoGraphQLErrors(body: string): boolean {
  return !body.includes('"errors"');
}
