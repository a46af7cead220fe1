import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { KeyledgerError } from '../../domain/errors';

export interface AttemptLimits {
  /** Attempts one API key may fail within the window. */
  perKey: number;
  /** Attempts one client address may fail within the window. */
  perIp: number;
  windowSeconds: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = { perKey: 10, perIp: 100, windowSeconds: 60 };

/** Thrown as RATE_LIMITED; `retryAfter` (whole seconds) reaches GraphQL extensions and the Retry-After header. */
export function rateLimited(retryAfterSeconds: number): KeyledgerError {
  return new KeyledgerError('RATE_LIMITED', `Rate limit exceeded. Try again in ${retryAfterSeconds} seconds.`, {
    retryAfter: retryAfterSeconds,
  });
}

/**
 * Limits partner client authentication per API key and per client address. An attempt is
 * charged before the secret is checked, so a burst of wrong secrets is refused before any
 * argon2 work; a successful check gives the point back, so a partner that authenticates
 * correctly is never slowed by its own traffic.
 *
 * Counters live in this process. Replicas each keep their own, which multiplies the budget
 * by the number of replicas; rate-limiter-flexible offers shared stores (Redis, among others)
 * behind the same interface if that ever matters.
 */
export class AttemptLimiter {
  private readonly byKey: RateLimiterMemory;
  private readonly byIp: RateLimiterMemory;

  constructor(readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS) {
    this.byKey = new RateLimiterMemory({ keyPrefix: 'partner-key', points: limits.perKey, duration: limits.windowSeconds });
    this.byIp = new RateLimiterMemory({ keyPrefix: 'partner-ip', points: limits.perIp, duration: limits.windowSeconds });
  }

  /** Charges one attempt to the address and, when given, the API key; RATE_LIMITED when either is spent. */
  async charge(ip: string | undefined, apiKey: string | null): Promise<void> {
    await this.consume(this.byIp, ip ?? 'unknown');
    if (apiKey !== null) await this.consume(this.byKey, apiKey);
  }

  /** Returns the points of an attempt that turned out to be legitimate. */
  async refund(ip: string | undefined, apiKey: string): Promise<void> {
    await Promise.all([this.byIp.reward(ip ?? 'unknown', 1), this.byKey.reward(apiKey, 1)]);
  }

  private async consume(limiter: RateLimiterMemory, key: string): Promise<void> {
    try {
      await limiter.consume(key, 1);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        throw rateLimited(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      }
      throw rejection;
    }
  }
}
