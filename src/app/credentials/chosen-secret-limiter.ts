import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { consumePoint, memoryLimiters, spentFor, type LimiterFactory } from '../rate-limits';

export interface ChosenSecretLimits {
  /** Failed argon2 checks per lookup tag in `windowSeconds`. */
  perTag: number;
  /** Failed argon2 checks per client IP in `windowSeconds`. */
  perIp: number;
  windowSeconds: number;
}

export const DEFAULT_CHOSEN_SECRET_LIMITS: ChosenSecretLimits = { perTag: 5, perIp: 20, windowSeconds: 60 };

export type LimitDecision = { limited: false } | { limited: true; retryAfterSeconds: number };

/**
 * Chosen and imported secrets are checked with argon2, which costs tens of milliseconds of
 * CPU on purpose. Without a limit, anyone could make the gateway spend that on guesses.
 * Failures are counted per lookup tag (guesses aimed at one stored secret) and per client
 * IP (one client guessing across secrets); once either is spent, verification answers
 * without running argon2 until the window ends. The counters live wherever `limiters` keeps
 * them: in this process by default, or shared by the replicas.
 */
export class ChosenSecretLimiter {
  private readonly byTag: RateLimiterAbstract;
  private readonly byIp: RateLimiterAbstract;

  constructor(limits: ChosenSecretLimits = DEFAULT_CHOSEN_SECRET_LIMITS, limiters: LimiterFactory = memoryLimiters) {
    this.byTag = limiters.create({ name: 'chosen-secret-tag', points: limits.perTag, durationSeconds: limits.windowSeconds });
    this.byIp = limiters.create({ name: 'chosen-secret-ip', points: limits.perIp, durationSeconds: limits.windowSeconds });
  }

  async check(tag: string, ip: string | undefined): Promise<LimitDecision> {
    const waits = [await spentFor(this.byTag, tag)];
    if (ip) waits.push(await spentFor(this.byIp, ip));
    const longest = Math.max(0, ...waits.map((wait) => wait ?? 0));
    return longest > 0 ? { limited: true, retryAfterSeconds: longest } : { limited: false };
  }

  async recordFailure(tag: string, ip: string | undefined): Promise<void> {
    await Promise.all([consumePoint(this.byTag, tag), ip ? consumePoint(this.byIp, ip) : undefined]);
  }
}
