import { requireCost } from '../../domain/tokens/usage-controls';
import type { TokenControlsQueries } from '../../../projections/tokens';
import type { EventMetadata } from '../../eventstore/port';
import type { CreditLedger } from './credit-ledger';

/** What a verification asks to use of a token. */
export interface UsageRequest {
  /** Credits to spend, when the token has credits. */
  cost: number;
}

/** What a verification used, for a token with usage controls. */
export interface UsageOutcome {
  code: 'VALID' | 'USAGE_EXCEEDED';
  /** Credits left; null for a token without credits. */
  remaining: number | null;
}

/**
 * The usage controls checked at verification. A token without any costs one read of an
 * index that holds no row for it: its verification writes nothing.
 */
export class UsageMetering {
  constructor(
    private readonly controls: Pick<TokenControlsQueries, 'of'>,
    private readonly ledger: Pick<CreditLedger, 'spend'>,
  ) {}

  /** Refuses a malformed request before any credential is looked at. */
  validate(request: UsageRequest): UsageRequest {
    return { cost: requireCost(request.cost) };
  }

  /** Null for a token without usage controls. */
  async use(token: { id: string; tenantId: string }, request: UsageRequest, metadata: () => EventMetadata): Promise<UsageOutcome | null> {
    const controls = this.controls.of(token.id);
    if (!controls) return null;
    if (!controls.credits) return { code: 'VALID', remaining: null };
    const spend = await this.ledger.spend(token, controls, request.cost, metadata());
    return { code: spend.spent ? 'VALID' : 'USAGE_EXCEEDED', remaining: spend.remaining };
  }
}
