import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { TokenControlsQueries } from '../../../projections/tokens';
import type { CreditLedger } from '../../app/tokens/credit-ledger';
import type { TokenUsageAnalytics } from '../../app/tokens/usage-analytics';
import type { GraphQLContext } from '../context';
import { TokenUsageBucket, UsageGranularity } from '../types/usage-analytics-types';
import type { VerificationCode } from '../types/token-types';
import { ApiToken } from '../types/token-types';
import { RefillInterval, TokenCredits, TokenRateLimit } from '../types/usage-types';

export interface TokenUsageServices {
  controls: Pick<TokenControlsQueries, 'of'>;
  credits: Pick<CreditLedger, 'balance'>;
  analytics: Pick<TokenUsageAnalytics, 'usage'>;
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
    return (this.services.controls.of(token.id)?.rateLimits ?? []).map((limit) => ({ ...limit, shared: limit.shared === true }));
  }

  @Query(() => [TokenUsageBucket], {
    description:
      'Verifications of a token (id), or summed over the tokens of a customer (externalId: the tokens of the tenant that hold it now), over time, by outcome ' +
      '(keyledger:tokens:read). Counts reach it within seconds: each gateway records them in batches. ' +
      'Only buckets with verifications are listed; a range spans at most 31 days of hours or 366 days of days.',
  })
  async tokenUsage(
    @Ctx() ctx: GraphQLContext,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('id', () => ID, { nullable: true }) id?: string | null,
    @Arg('externalId', () => String, { nullable: true, description: 'The customer whose tokens to add up, instead of id' }) externalId?: string | null,
    @Arg('tenantId', () => String, { nullable: true, description: "With externalId: the customer's tenant (keyledger:root); the caller's own by default" })
    tenantId?: string | null,
    @Arg('granularity', () => UsageGranularity, { defaultValue: UsageGranularity.HOUR }) granularity: UsageGranularity = UsageGranularity.HOUR,
  ): Promise<TokenUsageBucket[]> {
    const buckets = await this.services.analytics.usage(ctx, { id, externalId, tenantId, from, to, granularity });
    return buckets.map(({ start, counts }) => ({
      start,
      total: counts.reduce((sum, { count }) => sum + count, 0),
      outcomes: counts.map(({ code, count }) => ({ code: code as VerificationCode, count })),
    }));
  }
}
