import type { Logger } from '../../logger';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { memoryLimiters, SharedLimiters, type LimiterFactory } from './limiter-factory';
import { MutationLimiter } from './mutation-limiter';
import { ExpensiveQueryLimiter } from './expensive-query-limiter';

export { AuthFailureLimiter, authFailureLocked, UNKNOWN_ADDRESS } from './auth-failure-limiter';
export { memoryLimiters, SharedLimiters, type LimiterFactory, type LimiterSpec } from './limiter-factory';
export { MutationLimiter, type MutationLimits } from './mutation-limiter';
export { ExpensiveQueryLimiter } from './expensive-query-limiter';
export { consumePoint, rateLimited, retryAfterSeconds, spentFor } from './rate-limited';

export interface RateLimitSettings {
  /** Redis shared by the replicas; null keeps every counter in this process. */
  redisUrl: string | null;
  redisKeyPrefix: string;
  mutationsPerPrincipal: number;
  mutationsPerIp: number;
  authFailuresPerIp: number;
  expensiveQueriesPerPrincipal: number;
}

/** Every rate limit of a gateway, on one store of counters. */
export interface RateLimits {
  readonly limiters: LimiterFactory;
  /** The Redis store when one is configured. */
  readonly shared: SharedLimiters | null;
  readonly mutations: MutationLimiter;
  readonly authFailures: AuthFailureLimiter;
  readonly expensiveQueries: ExpensiveQueryLimiter;
  close(): Promise<void>;
}

export function openRateLimits(settings: RateLimitSettings, logger: Logger): RateLimits {
  const shared = settings.redisUrl ? new SharedLimiters({ url: settings.redisUrl, keyPrefix: settings.redisKeyPrefix, logger }) : null;
  const limiters = shared ?? memoryLimiters;
  return {
    limiters,
    shared,
    mutations: new MutationLimiter({ perPrincipal: settings.mutationsPerPrincipal, perIp: settings.mutationsPerIp }, limiters),
    authFailures: new AuthFailureLimiter(settings.authFailuresPerIp, limiters),
    expensiveQueries: new ExpensiveQueryLimiter(settings.expensiveQueriesPerPrincipal, limiters),
    close: async () => shared?.close(),
  };
}
