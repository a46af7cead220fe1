import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { badInput } from '../../domain/errors';
import { requireCost, USAGE_LIMITS, type TokenRateLimit } from '../../domain/tokens/usage-controls';
import type { LimiterFactory } from '../rate-limits';
import type { Clock } from '../clock';

/** A limit a verification names, and the points it costs there. */
export interface RateLimitUse {
  name: string;
  cost: number;
}

/** Where a limit stands after a verification. */
export interface RateLimitState {
  name: string;
  limit: number;
  remaining: number;
  resetAt: Date;
  exceeded: boolean;
}

interface Charge {
  limit: TokenRateLimit;
  cost: number;
  limiter: RateLimiterAbstract;
  key: string;
}

/**
 * The named rate limits of tokens, counted in the gateway's limiter store: in Redis when
 * one is configured, so every replica counts against the same window, in this process
 * otherwise. A verification is charged to every limit it uses; when one is exceeded, what
 * it was charged is given back, so a refused verification uses up nothing.
 */
export class TokenRateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(
    private readonly factory: LimiterFactory,
    private readonly clock: Clock,
  ) {}

  /** Refuses a malformed request before any credential is looked at. */
  static validate(uses: readonly RateLimitUse[] | null | undefined): RateLimitUse[] | null {
    if (uses == null) return null;
    if (uses.length > USAGE_LIMITS.rateLimitsPerToken) throw badInput(`A verification names at most ${USAGE_LIMITS.rateLimitsPerToken} rate limits`, 'rateLimits');
    const seen = new Set<string>();
    return uses.map((use) => {
      if (typeof use.name !== 'string' || use.name.length === 0 || use.name.length > USAGE_LIMITS.rateLimitNameLength) {
        throw badInput(`A rate limit name is 1-${USAGE_LIMITS.rateLimitNameLength} characters`, 'rateLimits.name');
      }
      if (seen.has(use.name)) throw badInput(`Rate limit ${use.name} is named twice`, 'rateLimits.name');
      seen.add(use.name);
      return { name: use.name, cost: requireCost(use.cost ?? 1, 'rateLimits.cost') };
    });
  }

  /** Charges the limits a verification uses: the ones it names, or every limit at 1 point. */
  async charge(tokenId: string, limits: readonly TokenRateLimit[], uses: readonly RateLimitUse[] | null): Promise<RateLimitState[]> {
    const charges = this.chargesOf(tokenId, limits, uses);
    const outcomes = await Promise.all(charges.map((charge) => this.consume(charge)));
    if (!outcomes.some((outcome) => outcome.exceeded)) return outcomes.map(({ state }) => state);
    await Promise.all(charges.map((charge, i) => (outcomes[i].charged > 0 ? charge.limiter.reward(charge.key, outcomes[i].charged) : null)));
    // An exceeded limit already reports what was left before this verification.
    return outcomes.map(({ state, charged }) => (state.exceeded ? state : { ...state, remaining: Math.min(state.limit, state.remaining + charged) }));
  }

  private chargesOf(tokenId: string, limits: readonly TokenRateLimit[], uses: readonly RateLimitUse[] | null): Charge[] {
    const byName = new Map(limits.map((limit) => [limit.name, limit]));
    const wanted = uses ?? limits.map((limit) => ({ name: limit.name, cost: 1 }));
    return wanted.map((use) => {
      const limit = byName.get(use.name);
      if (!limit) throw badInput(`The token has no rate limit named ${use.name}`, 'rateLimits.name');
      // The token id keys the counter: limits of two tokens never share a window.
      return { limit, cost: use.cost, limiter: this.limiterFor(limit), key: `${tokenId}:${limit.name}` };
    });
  }

  private async consume({ limit, cost, limiter, key }: Charge): Promise<{ state: RateLimitState; exceeded: boolean; charged: number }> {
    const now = this.clock.now().getTime();
    const stateOf = (res: RateLimiterRes | null, exceeded: boolean): RateLimitState => ({
      name: limit.name,
      limit: limit.limit,
      remaining: res ? Math.max(0, limit.limit - res.consumedPoints) : limit.limit,
      resetAt: new Date(now + (res ? Math.max(0, res.msBeforeNext) : limit.durationSeconds * 1000)),
      exceeded,
    });
    if (cost === 0) {
      const res = await limiter.get(key);
      const exceeded = res !== null && res.consumedPoints >= limit.limit;
      return { state: stateOf(res, exceeded), exceeded, charged: 0 };
    }
    try {
      const res = await limiter.consume(key, cost);
      return { state: stateOf(res, false), exceeded: false, charged: cost };
    } catch (rejection) {
      // Being over the limit is an answer; anything else (the insurance limiter failing too) is a fault.
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      return { state: { ...stateOf(rejection, true), remaining: Math.max(0, limit.limit - (rejection.consumedPoints - cost)) }, exceeded: true, charged: cost };
    }
  }

  private limiterFor(limit: TokenRateLimit): RateLimiterAbstract {
    const name = `token-limit:${limit.limit}:${limit.durationSeconds}`;
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = this.factory.create({ name, points: limit.limit, durationSeconds: limit.durationSeconds });
      this.limiters.set(name, limiter);
    }
    return limiter;
  }
}
