import { badInput } from '../../domain/errors';
import { requireCost } from '../../domain/tokens/usage-controls';
import type { TokenControlsQueries } from '../../../projections/tokens';
import type { EventMetadata } from '../../eventstore/port';
import type { CreditLedger } from './credit-ledger';
import { TokenRateLimits, type MeteredToken, type RateLimitState, type RateLimitUse } from './token-rate-limits';

/** What a verification asks to use of a token. */
export interface UsageRequest {
  /** Credits to spend, when the token has credits. */
  cost: number;
  /** The rate limits to charge and their points; null charges every limit of the token 1 point. */
  rateLimits?: readonly RateLimitUse[] | null;
}

/** What a verification used, for a token with usage controls. */
export interface UsageOutcome {
  code: 'VALID' | 'USAGE_EXCEEDED' | 'RATE_LIMITED';
  /** Credits left; null for a token without credits. */
  remaining: number | null;
  rateLimits: RateLimitState[];
}

/**
 * The usage controls checked at verification: rate limits first, then credits, so a
 * rate-limited verification spends no credit. A token without any costs one read of an
 * index that holds no row for it (none at all while the read models are unchanged, through
 * `TokenControlsCache`): its verification writes nothing.
 */
export class UsageMetering {
  constructor(
    private readonly controls: Pick<TokenControlsQueries, 'of'>,
    private readonly ledger: Pick<CreditLedger, 'spend'>,
    private readonly rateLimits: Pick<TokenRateLimits, 'charge'>,
  ) {}

  /** Refuses a malformed request before any credential is looked at. */
  validate(request: UsageRequest): UsageRequest {
    return { cost: requireCost(request.cost), rateLimits: TokenRateLimits.validate(request.rateLimits) };
  }

  /** Null for a token without usage controls. */
  async use(token: MeteredToken, request: UsageRequest, metadata: () => EventMetadata): Promise<UsageOutcome | null> {
    const controls = this.controls.of(token.id);
    if (!controls) {
      if (request.rateLimits?.length) throw badInput(`The token has no rate limit named ${request.rateLimits[0].name}`, 'rateLimits.name');
      return null;
    }
    const rateLimits = controls.rateLimits.length > 0 || request.rateLimits ? await this.rateLimits.charge(token, controls.rateLimits, request.rateLimits ?? null) : [];
    if (rateLimits.some((limit) => limit.exceeded)) return { code: 'RATE_LIMITED', remaining: null, rateLimits };
    if (!controls.credits) return { code: 'VALID', remaining: null, rateLimits };
    const spend = await this.ledger.spend(token, controls, request.cost, metadata());
    return { code: spend.spent ? 'VALID' : 'USAGE_EXCEEDED', remaining: spend.remaining, rateLimits };
  }
}
