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

/** The token a verification is of: a shared limit counts for its tenant and externalId. */
export interface MeteredToken {
  id: string;
  tenantId: string;
  externalId: string | null;
}

interface Charge {
  limit: TokenRateLimit;
  cost: number;
  limiter: RateLimiterAbstract;
  key: string;
  /** Set for a shared limit: the window of a new key lasts the declaring token's duration. */
  durationSeconds: number | null;
}

/**
 * Shared limits count in one limiter that never refuses by itself: tokens of one identity
 * may declare different limits for one name, so each verification is held to its own
 * token's limit against the points the whole identity has used.
 */
const SHARED_LIMITER_POINTS = Number.MAX_SAFE_INTEGER;

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
  async charge(token: MeteredToken, limits: readonly TokenRateLimit[], uses: readonly RateLimitUse[] | null): Promise<RateLimitState[]> {
    const charges = this.chargesOf(token, limits, uses);
    const outcomes = await Promise.all(charges.map((charge) => this.consume(charge)));
    if (!outcomes.some((outcome) => outcome.exceeded)) return outcomes.map(({ state }) => state);
    await Promise.all(charges.map((charge, i) => (outcomes[i].charged > 0 ? charge.limiter.reward(charge.key, outcomes[i].charged) : null)));
    // An exceeded limit already reports what was left before this verification.
    return outcomes.map(({ state, charged }) => (state.exceeded ? state : { ...state, remaining: Math.min(state.limit, state.remaining + charged) }));
  }

  private chargesOf(token: MeteredToken, limits: readonly TokenRateLimit[], uses: readonly RateLimitUse[] | null): Charge[] {
    const byName = new Map(limits.map((limit) => [limit.name, limit]));
    const wanted = uses ?? limits.map((limit) => ({ name: limit.name, cost: 1 }));
    return wanted.map((use) => {
      const limit = byName.get(use.name);
      if (!limit) throw badInput(`The token has no rate limit named ${use.name}`, 'rateLimits.name');
      // Issue and update refuse a shared limit without an externalId; should the read models
      // disagree for a moment, the token's own window is the safe side.
      if (limit.shared && token.externalId !== null) {
        // Neither a tenant id nor an externalId holds a space, so the parts cannot run together.
        const key = `${token.tenantId} ${token.externalId} ${limit.name}`;
        return { limit, cost: use.cost, limiter: this.sharedLimiter(), key, durationSeconds: limit.durationSeconds };
      }
      // The token id keys the counter: limits of two tokens never share a window.
      return { limit, cost: use.cost, limiter: this.limiterFor(limit), key: `${token.id}:${limit.name}`, durationSeconds: null };
    });
  }

  private async consume(charge: Charge): Promise<{ state: RateLimitState; exceeded: boolean; charged: number }> {
    if (charge.durationSeconds !== null) return this.consumeShared(charge);
    const { limit, cost, limiter, key } = charge;
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

  /**
   * The token's own limit decides, against the points the identity has used in the current
   * window; a refusal gives back its points with the others of the verification.
   */
  private async consumeShared({ limit, cost, limiter, key, durationSeconds }: Charge): Promise<{ state: RateLimitState; exceeded: boolean; charged: number }> {
    const now = this.clock.now().getTime();
    const res = cost === 0 ? await limiter.get(key) : await limiter.consume(key, cost, { customDuration: durationSeconds! });
    const used = res?.consumedPoints ?? 0;
    const exceeded = cost === 0 ? used >= limit.limit : used > limit.limit;
    const before = used - cost;
    return {
      state: {
        name: limit.name,
        limit: limit.limit,
        remaining: Math.max(0, limit.limit - (exceeded ? before : used)),
        resetAt: new Date(now + (res ? Math.max(0, res.msBeforeNext) : limit.durationSeconds * 1000)),
        exceeded,
      },
      exceeded,
      charged: cost,
    };
  }

  private sharedLimiter(): RateLimiterAbstract {
    const name = 'identity-limit';
    let limiter = this.limiters.get(name);
    if (!limiter) {
      limiter = this.factory.create({ name, points: SHARED_LIMITER_POINTS, durationSeconds: USAGE_LIMITS.maxRateLimitDurationSeconds });
      this.limiters.set(name, limiter);
    }
    return limiter;
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
