import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The compiled gateway entry point, as `npm start` runs it. */
export const GATEWAY_MAIN = join(__dirname, '../../../src/main.js');
const BARE_APOLLO_MAIN = join(__dirname, 'bare-apollo.js');

/**
 * Production mode, warnings only (a log line per request would be measured too) and the rate
 * limits off: a benchmark is one principal on one address sending requests back to back.
 */
export const BENCH_GATEWAY_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
};

export interface ServerProcess {
  url: string;
  pid: number;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `node script` on a free local port with exactly `env`; resolves once `GET /readyz` answers 200. */
async function startServerProcess(script: string, env: Record<string, string>, readyTimeoutMs: number): Promise<ServerProcess> {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const stop = async (graceMs = 10_000) => {
    if (hasExited()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited()) throw new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop(0);
      throw new Error(`${script} was not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, pid: child.pid!, output: () => output, stop };
}

export interface BenchGateway extends ServerProcess {
  /** The bootstrap `keyledger:root` token. */
  rootSecret: string;
}

/**
 * The gateway on the embedded store in `dataDir`. Ready means caught up with the log, which
 * for a million events takes a while, hence the long default wait.
 */
export async function startGateway(dataDir: string, masterKey: string, readyTimeoutMs = 45 * 60_000): Promise<BenchGateway> {
  const rootSecret = `klbench-${randomBytes(24).toString('hex')}`;
  const gateway = await startServerProcess(
    GATEWAY_MAIN,
    { ...BENCH_GATEWAY_ENV, KEYLEDGER_DATA_DIR: dataDir, KEYLEDGER_MASTER_KEY: masterKey, KEYLEDGER_BOOTSTRAP_TOKEN: rootSecret },
    readyTimeoutMs,
  );
  return { ...gateway, rootSecret };
}

/** The baseline server: express 5 and Apollo Server 5 with a one-field schema (`bare-apollo.ts`). */
export function startBareApollo(): Promise<ServerProcess> {
  return startServerProcess(BARE_APOLLO_MAIN, { NODE_ENV: 'production' }, 60_000);
}

/** Resident set size of a process, in MiB, from /proc (Linux). */
export function residentMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]) / 1024;
  };
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/** One GraphQL request; throws on a transport error or any GraphQL error, so a benchmark never times failures. */
export async function graphql<T>(url: string, query: string, variables: Record<string, unknown>, bearer?: string): Promise<T> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (!response.ok || body.errors?.length || body.data === undefined) {
    throw new Error(`GraphQL request failed (${response.status}): ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}
