import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir';

export interface RedisServer {
  /** `unix:///…/redis.sock`, as KEYLEDGER_RATE_LIMIT_REDIS_URL takes it. */
  readonly url: string;
  readonly socketPath: string;
  /** Stops the server (the socket goes away); `start` brings it back on the same socket. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  remove(): Promise<void>;
}

/** Why the Redis tests cannot run here, or null when they can. */
export function redisUnavailableReason(): string | null {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return found.error || found.status !== 0 ? 'redis-server is not on PATH' : null;
}

/** CI (and KEYLEDGER_REQUIRE_REDIS=1) must run the Redis tests; elsewhere they may be skipped. */
export function redisRequired(): boolean {
  return Boolean(process.env.CI) || process.env.KEYLEDGER_REQUIRE_REDIS === '1';
}

/**
 * A real redis-server listening on a unix socket only (no TCP port), in a temp directory,
 * persisting nothing.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = makeTempDir('keyledger-redis');
  const socketPath = join(dir.path, 'redis.sock');
  let child: ChildProcess | null = null;

  const start = async () => {
    const output: string[] = [];
    const started = spawn(
      'redis-server',
      ['--port', '0', '--unixsocket', socketPath, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir.path],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    started.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child = started;
    const deadline = Date.now() + 10_000;
    while (!/ready to accept connections/i.test(output.join('')) || !existsSync(socketPath)) {
      if (started.exitCode !== null) throw new Error(`redis-server exited (${started.exitCode}):\n${output.join('')}`);
      if (Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`redis-server did not start in time:\n${output.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `unix://${socketPath}`,
    socketPath,
    start,
    stop,
    async remove() {
      await stop();
      dir.remove();
    },
  };
}
