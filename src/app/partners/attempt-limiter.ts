import { createHash } from 'node:crypto';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { consumePoint, memoryLimiters, rateLimited, UNKNOWN_ADDRESS, type LimiterFactory } from '../rate-limits';

export interface AttemptLimits {
  /** Attempts one API key may fail within the window. */
  perKey: number;
  /** Attempts one client address may fail within the window. */
  perIp: number;
  windowSeconds: number;
}

export const DEFAULT_ATTEMPT_LIMITS: AttemptLimits = { perKey: 10, perIp: 100, windowSeconds: 60 };

/**
 * Limits partner client authentication per API key and per client address. An attempt is
 * charged before the secret is checked, so a burst of wrong secrets is refused before any
 * argon2 work; a successful check gives the point back, so a partner that authenticates
 * correctly is never slowed by its own traffic. The counters live wherever `limiters` keeps
 * them: in this process by default, or shared by the replicas.
 */
export class AttemptLimiter {
  private readonly byKey: RateLimiterAbstract;
  private readonly byIp: RateLimiterAbstract;

  constructor(
    readonly limits: AttemptLimits = DEFAULT_ATTEMPT_LIMITS,
    limiters: LimiterFactory = memoryLimiters,
  ) {
    this.byKey = limiters.create({ name: 'partner-key', points: limits.perKey, durationSeconds: limits.windowSeconds });
    this.byIp = limiters.create({ name: 'partner-ip', points: limits.perIp, durationSeconds: limits.windowSeconds });
  }

  /** Charges one attempt to the address and, when given, the API key; RATE_LIMITED when either is spent. */
  async charge(ip: string | undefined, apiKey: string | null): Promise<void> {
    await this.consume(this.byIp, ip ?? UNKNOWN_ADDRESS);
    if (apiKey !== null) await this.consume(this.byKey, counterKey(apiKey));
  }

  /** Returns the points of an attempt that turned out to be legitimate. */
  async refund(ip: string | undefined, apiKey: string): Promise<void> {
    await Promise.all([this.byIp.reward(ip ?? UNKNOWN_ADDRESS, 1), this.byKey.reward(counterKey(apiKey), 1)]);
  }

  private async consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
    const retryAfter = await consumePoint(limiter, key);
    if (retryAfter !== null) throw rateLimited(retryAfter);
  }
}

/** API keys are counted under a digest, so a shared counter store never holds them verbatim. */
function counterKey(apiKey: string): string {
  return createHash('sha256').update(apiKey).digest('base64url');
}
