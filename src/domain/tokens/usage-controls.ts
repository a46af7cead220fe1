import { badInput } from '../errors';

/**
 * What a token's verifications may use up: credits spent by each verification, refilled
 * at each UTC day or month boundary, and named rate limits counted per window. None of it
 * is secret; all of it is set by `issueToken`/`updateToken` and recorded in token events.
 */

export const REFILL_INTERVALS = ['DAILY', 'MONTHLY'] as const;
export type RefillInterval = (typeof REFILL_INTERVALS)[number];

export interface CreditRefill {
  amount: number;
  interval: RefillInterval;
}

export interface Credits {
  /** The balance the setting starts with. */
  remaining: number;
  /** At each boundary of the interval the balance is set to `amount` (not added to it). */
  refill?: CreditRefill | null;
}

export interface TokenRateLimit {
  /** Unique among the token's limits. */
  name: string;
  limit: number;
  durationSeconds: number;
  /**
   * Counted for the token's identity (tenant and externalId) rather than for the token: every
   * token of the identity declaring a shared limit of this name counts in one window. Present
   * only when true, so events of unshared limits keep their shape.
   */
  shared?: boolean | null;
}

export const USAGE_LIMITS = {
  /** Fits a GraphQL Int with room to spare. */
  maxCredits: 1_000_000_000,
  /** What one verification may cost, in credits or rate-limit points. */
  maxCost: 1_000_000,
  rateLimitsPerToken: 10,
  rateLimitNameLength: 64,
  maxRateLimit: 1_000_000_000,
  /** One week. */
  maxRateLimitDurationSeconds: 7 * 24 * 3600,
} as const;

const RATE_LIMIT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function requireWhole(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badInput(`${field} must be a whole number from ${min} to ${max}`, field);
  }
  return value;
}

export function requireCredits(credits: Credits): Credits {
  const remaining = requireWhole(credits.remaining, 0, USAGE_LIMITS.maxCredits, 'credits.remaining');
  if (credits.refill == null) return { remaining, refill: null };
  const amount = requireWhole(credits.refill.amount, 1, USAGE_LIMITS.maxCredits, 'credits.refill.amount');
  const interval = credits.refill.interval;
  if (!REFILL_INTERVALS.includes(interval)) throw badInput(`credits.refill.interval must be one of ${REFILL_INTERVALS.join(', ')}`, 'credits.refill.interval');
  return { remaining, refill: { amount, interval } };
}

export function requireRateLimits(limits: readonly TokenRateLimit[]): TokenRateLimit[] {
  if (limits.length > USAGE_LIMITS.rateLimitsPerToken) {
    throw badInput(`A token has at most ${USAGE_LIMITS.rateLimitsPerToken} rate limits`, 'rateLimits');
  }
  const seen = new Set<string>();
  return limits.map((limit) => {
    const name = limit.name;
    if (typeof name !== 'string' || name.length > USAGE_LIMITS.rateLimitNameLength || !RATE_LIMIT_NAME_PATTERN.test(name)) {
      throw badInput(
        `A rate limit name is 1-${USAGE_LIMITS.rateLimitNameLength} letters, digits or . _ : -, starting with a letter or digit`,
        'rateLimits.name',
      );
    }
    if (seen.has(name)) throw badInput(`Rate limit ${name} is named twice`, 'rateLimits.name');
    seen.add(name);
    const shared: unknown = limit.shared;
    if (shared != null && typeof shared !== 'boolean') throw badInput('rateLimits.shared must be true or false', 'rateLimits.shared');
    return {
      name,
      limit: requireWhole(limit.limit, 1, USAGE_LIMITS.maxRateLimit, 'rateLimits.limit'),
      durationSeconds: requireWhole(limit.durationSeconds, 1, USAGE_LIMITS.maxRateLimitDurationSeconds, 'rateLimits.durationSeconds'),
      ...(shared === true ? { shared: true } : {}),
    };
  });
}

/**
 * A shared limit is counted for the token's identity, so a token holding one needs an
 * externalId: refused rather than quietly counted per token, which would allow each of the
 * customer's tokens the whole limit.
 */
export function requireIdentityForSharedLimits(limits: readonly TokenRateLimit[], externalId: string | null | undefined): void {
  const shared = limits.find((limit) => limit.shared);
  if (shared && externalId == null) {
    throw badInput(`Rate limit ${shared.name} is shared by the tokens of an identity: the token needs an externalId`, 'rateLimits.shared');
  }
}

/** What one verification spends; never negative, so a verifier cannot give credits back. */
export function requireCost(cost: number, field = 'cost'): number {
  return requireWhole(cost, 0, USAGE_LIMITS.maxCost, field);
}

export function sameRateLimits(a: readonly TokenRateLimit[], b: readonly TokenRateLimit[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (limit, i) =>
        limit.name === b[i].name && limit.limit === b[i].limit && limit.durationSeconds === b[i].durationSeconds && !limit.shared === !b[i].shared,
    )
  );
}

/**
 * The refill period an instant falls in, as text that orders like time: the UTC day
 * (`2026-12-02`) or month (`2026-12`); a single period when credits never refill.
 */
export function creditPeriod(refill: CreditRefill | null | undefined, at: Date): string {
  if (!refill) return 'once';
  const iso = at.toISOString();
  return refill.interval === 'DAILY' ? iso.slice(0, 10) : iso.slice(0, 7);
}

/** The start of the period after the one `at` is in; null when credits never refill. */
export function nextRefillAt(refill: CreditRefill | null | undefined, at: Date): Date | null {
  if (!refill) return null;
  if (refill.interval === 'DAILY') return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
}
