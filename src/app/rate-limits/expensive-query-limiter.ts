import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimiterFactory } from './limiter-factory';
import { chargeOrRefuse } from './rate-limited';

/**
 * The budget of reads whose work grows with stored data rather than with the request (an
 * integrity check of a whole chain, an export of a whole history): each costs the caller's
 * credential one point, whichever transport it came through. Cheap queries pay nothing.
 */
export class ExpensiveQueryLimiter {
  private readonly byPrincipal: RateLimiterAbstract | null;

  /** `perPrincipal` per minute; 0 disables the limit. */
  constructor(
    readonly perPrincipal: number,
    limiters: LimiterFactory,
  ) {
    this.byPrincipal = perPrincipal > 0 ? limiters.create({ name: 'expensive-queries-principal', points: perPrincipal, durationSeconds: 60 }) : null;
  }

  /** Charges the caller's credential; RATE_LIMITED when its budget is spent. */
  async chargePrincipal(principalId: string): Promise<void> {
    if (!this.byPrincipal) return;
    await chargeOrRefuse(
      this.byPrincipal,
      principalId,
      (retryAfter) => `Too many integrity checks and exports by this credential: at most ${this.perPrincipal} per minute. Try again in ${retryAfter} seconds.`,
    );
  }
}
