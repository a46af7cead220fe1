import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LimiterFactory } from './limiter-factory';
import { UNKNOWN_ADDRESS } from './auth-failure-limiter';
import { chargeOrRefuse } from './rate-limited';

export interface MutationLimits {
  /** Mutations per minute per authenticated caller (credential id); 0 disables. */
  perPrincipal: number;
  /** Mutations per minute per client address; 0 disables. */
  perIp: number;
}

/**
 * The budget of state-changing requests: every GraphQL mutation field and every REST write
 * costs one point of the client address's budget and, when the caller authenticated, one of
 * its credential's.
 */
export class MutationLimiter {
  private readonly byPrincipal: RateLimiterAbstract | null;
  private readonly byIp: RateLimiterAbstract | null;

  constructor(
    readonly limits: MutationLimits,
    limiters: LimiterFactory,
  ) {
    this.byPrincipal = limits.perPrincipal > 0 ? limiters.create({ name: 'mutations-principal', points: limits.perPrincipal, durationSeconds: 60 }) : null;
    this.byIp = limits.perIp > 0 ? limiters.create({ name: 'mutations-ip', points: limits.perIp, durationSeconds: 60 }) : null;
  }

  /** Charges the address; RATE_LIMITED when its budget is spent. */
  async chargeAddress(ip: string | undefined): Promise<void> {
    if (!this.byIp) return;
    await chargeOrRefuse(
      this.byIp,
      ip ?? UNKNOWN_ADDRESS,
      (retryAfter) => `Too many changes from this address: at most ${this.limits.perIp} per minute. Try again in ${retryAfter} seconds.`,
    );
  }

  /** Charges the caller's credential; RATE_LIMITED when its budget is spent. */
  async chargePrincipal(principalId: string): Promise<void> {
    if (!this.byPrincipal) return;
    await chargeOrRefuse(
      this.byPrincipal,
      principalId,
      (retryAfter) => `Too many changes by this credential: at most ${this.limits.perPrincipal} per minute. Try again in ${retryAfter} seconds.`,
    );
  }
}
