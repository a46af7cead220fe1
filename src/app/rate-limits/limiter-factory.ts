import { Redis, type RedisOptions } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../../logger';

export interface LimiterSpec {
  /** Names the counters: the key prefix in the store, unique per limit. */
  name: string;
  points: number;
  durationSeconds: number;
}

/** Where the counters of every rate limit live. */
export interface LimiterFactory {
  create(spec: LimiterSpec): RateLimiterAbstract;
}

/** Counters in this process only: each replica keeps its own. */
export const memoryLimiters: LimiterFactory = {
  create: ({ name, points, durationSeconds }) => new RateLimiterMemory({ keyPrefix: name, points, duration: durationSeconds }),
};

export interface SharedLimiterOptions {
  /** `redis://`, `rediss://` or `unix:///path/to/redis.sock`. */
  url: string;
  /** Separates deployments sharing one Redis; every limiter's keys start with it. */
  keyPrefix: string;
  logger: Logger;
}

/** A Redis command that does not answer within this is treated as an outage for that request. */
const COMMAND_TIMEOUT_MS = 500;

/** ioredis options for a URL; unix sockets are given as `unix:///path/to/redis.sock`. */
export function redisOptionsOf(url: string): { path?: string; url?: string } {
  if (url.startsWith('unix://')) return { path: decodeURIComponent(new URL(url).pathname) };
  return { url };
}

/**
 * Counters in Redis, shared by every replica of a deployment, over one connection. Each
 * limiter has an in-memory twin (rate-limiter-flexible's insurance limiter) that answers while
 * Redis cannot: an outage loosens the limits to per replica rather than refusing or allowing
 * everything. The outage is logged once, and its end once.
 */
export class SharedLimiters implements LimiterFactory {
  private readonly client: Redis;
  private reachable = false;
  private outageLogged = false;
  private closed = false;

  constructor(private readonly options: SharedLimiterOptions) {
    const target = redisOptionsOf(options.url);
    const settings: RedisOptions = {
      // A request never waits for Redis to come back: rate limits fall back to memory meanwhile.
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    };
    this.client = target.path ? new Redis({ ...settings, path: target.path }) : new Redis(target.url!, settings);
    this.client.on('ready', () => {
      this.reachable = true;
      if (this.outageLogged) options.logger.info({}, 'the rate-limit store is reachable again; limits are shared across replicas');
      this.outageLogged = false;
    });
    this.client.on('error', (error: Error & { code?: string }) => this.unreachable(error.code ?? error.name));
    this.client.on('close', () => this.unreachable('CONNECTION_CLOSED'));
  }

  /** True while the connection to Redis is up. */
  get isReachable(): boolean {
    return this.reachable;
  }

  create({ name, points, durationSeconds }: LimiterSpec): RateLimiterAbstract {
    const keyPrefix = `${this.options.keyPrefix}:${name}`;
    return new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix,
      points,
      duration: durationSeconds,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: durationSeconds }),
    });
  }

  /** Resolves once connected, or after `timeoutMs` (limits work from memory until then). */
  async whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.reachable) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.client.once('ready', done);
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    return this.reachable;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.disconnect();
  }

  private unreachable(reason: string): void {
    this.reachable = false;
    if (this.closed || this.outageLogged) return;
    this.outageLogged = true;
    // The reason is a code such as ECONNREFUSED: never the URL, which may hold a password.
    this.options.logger.warn({ reason }, 'the rate-limit store is unreachable; each replica limits on its own until it is back');
  }
}
