import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A server run as its own node process, so every server a benchmark compares is measured the same way. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** What the process wrote to stdout and stderr, for error messages. */
  output(): string;
  /** CPU time (user + system) the process has used so far, or null where the OS does not tell (not Linux). */
  cpuSeconds(): number | null;
  /**
   * Write system calls (write, pwrite, writev: to files and sockets alike) the process has
   * made so far, or null where the OS does not tell: SQLite writes each WAL frame with two, so
   * per request this counts a write path's pages with less noise than its time.
   */
  writeCalls(): number | null;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;
/**
 * When set to a directory, every server process runs with `--cpu-prof` and writes its
 * `.cpuprofile` there as it exits on SIGTERM (summarise with `node dist/bench/profile-summary.js`).
 */
export const CPU_PROFILE_DIR_VARIABLE = 'KEYLEDGER_BENCH_CPU_PROF';

/** Node's flags for a server process: a CPU profile when `KEYLEDGER_BENCH_CPU_PROF` names a directory. */
function nodeFlags(): string[] {
  const dir = process.env[CPU_PROFILE_DIR_VARIABLE];
  // Four samples a millisecond: a quick load phase still gives thousands of samples.
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250'] : [];
}

/**
 * Exits on SIGTERM and SIGINT instead of being killed by them, so that Node writes what it
 * writes at exit (a CPU profile). For server scripts with no shutdown of their own.
 */
export function exitOnTerminationSignals(): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => process.exit(0));
}

/** Linux reports CPU times in /proc in units of USER_HZ, which is 100 on every architecture Node runs on. */
const USER_HZ = 100;

function cpuSecondsOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is the 3rd field, utime the 14th, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return null;
  }
}

function writeCallsOf(pid: number): number | null {
  try {
    const match = /^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * A port nobody listens on now. The server is told the port rather than choosing one, because
 * at a quiet log level it would not print where it listens.
 */
export function freePort(): Promise<number> {
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

/**
 * Starts `node script` on 127.0.0.1:`port` with exactly `env` (plus PATH, PORT and HOST) and
 * resolves once `GET readyPath` answers 200. Rejects with the process output if it exits first.
 */
export async function startServerProcess(
  script: string,
  env: Record<string, string>,
  readyPath: string,
  port?: number,
  options: { readyTimeoutMs?: number } = {},
): Promise<ServerProcess> {
  if (!existsSync(script)) throw new Error(`${script} is missing: run \`npm run build\` first`);
  const listenPort = port ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags(), script], {
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(listenPort), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const url = `http://127.0.0.1:${listenPort}`;

  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited()) throw new Error(`${script} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} was not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    url,
    pid: child.pid!,
    output: () => output,
    cpuSeconds: () => cpuSecondsOf(child.pid!),
    writeCalls: () => writeCallsOf(child.pid!),
    async stop(graceMs = 10_000) {
      if (hasExited()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Server processes started concurrently, so that start-up times overlap. `stopAll` waits for
 * every start still under way and stops each process that came up, whatever failed meanwhile.
 */
export class ProcessGroup {
  private readonly starting: Array<Promise<ServerProcess>> = [];

  add(start: Promise<ServerProcess>): Promise<ServerProcess> {
    // A start that fails while nobody awaits it yet is reported by whoever awaits it, or dropped by stopAll.
    start.catch(() => undefined);
    this.starting.push(start);
    return start;
  }

  async stopAll(): Promise<void> {
    const settled = await Promise.allSettled(this.starting.splice(0));
    await Promise.all(settled.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.stop() : undefined)));
  }
}
