import { FieldResolver, Resolver, Root } from 'type-graphql';
import type { TokenControlsQueries } from '../../../projections/tokens';
import type { CreditLedger } from '../../app/tokens/credit-ledger';
import { ApiToken } from '../types/token-types';
import { RefillInterval, TokenCredits, TokenRateLimit } from '../types/usage-types';

export interface TokenUsageServices {
  controls: Pick<TokenControlsQueries, 'of'>;
  credits: Pick<CreditLedger, 'balance'>;
}

/**
 * A token's usage controls, resolved only when asked for: the token itself was already
 * read under the caller's roles and tenant, so these read by its id.
 */
@Resolver(() => ApiToken)
export class TokenUsageResolver {
  constructor(private readonly services: TokenUsageServices) {}

  @FieldResolver(() => TokenCredits, { nullable: true, description: 'Credits verifications spend; null when the token has none' })
  async credits(@Root() token: ApiToken): Promise<TokenCredits | null> {
    const controls = this.services.controls.of(token.id);
    if (!controls?.credits) return null;
    const { remaining, refillsAt } = await this.services.credits.balance(token.id, controls);
    const refill = controls.credits.refill ?? null;
    return { remaining, refill: refill && { amount: refill.amount, interval: refill.interval as RefillInterval }, refillsAt };
  }

  @FieldResolver(() => [TokenRateLimit], { description: 'Named rate limits on verifications of the token' })
  rateLimits(@Root() token: ApiToken): TokenRateLimit[] {
    return this.services.controls.of(token.id)?.rateLimits ?? [];
  }
}
