import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

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
 * without running argon2 until the window ends. Counts are per process and in memory: the
 * point is to protect this process's CPU, not to be a global budget.
 */
export class ChosenSecretLimiter {
  private readonly byTag: RateLimiterMemory;
  private readonly byIp: RateLimiterMemory;

  constructor(private readonly limits: ChosenSecretLimits = DEFAULT_CHOSEN_SECRET_LIMITS) {
    this.byTag = new RateLimiterMemory({ keyPrefix: 'chosen-secret-tag', points: limits.perTag, duration: limits.windowSeconds });
    this.byIp = new RateLimiterMemory({ keyPrefix: 'chosen-secret-ip', points: limits.perIp, duration: limits.windowSeconds });
  }

  async check(tag: string, ip: string | undefined): Promise<LimitDecision> {
    const waits = [spent(await this.byTag.get(tag), this.limits.perTag)];
    if (ip) waits.push(spent(await this.byIp.get(ip), this.limits.perIp));
    const longest = Math.max(...waits);
    return longest > 0 ? { limited: true, retryAfterSeconds: Math.ceil(longest / 1000) } : { limited: false };
  }

  async recordFailure(tag: string, ip: string | undefined): Promise<void> {
    await Promise.all([consume(this.byTag, tag), ip ? consume(this.byIp, ip) : undefined]);
  }
}

/** Milliseconds until the key may try again, or 0 if it has points left. */
function spent(state: RateLimiterRes | null, points: number): number {
  if (!state || state.consumedPoints < points) return 0;
  return Math.max(state.msBeforeNext, 1);
}

async function consume(limiter: RateLimiterMemory, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    // Being over the limit is what we count; anything else is a real failure.
    if (!(rejection instanceof RateLimiterRes)) throw rejection;
  }
}
