import { badInput, notFound } from '../../domain/errors';
import type { TokenVerificationCountQueries, UsageBucketRow, UsageGranularity } from '../../../projections/tokens';
import type { RequestContext } from '../request-context';
import type { TokenService } from './token-service';

export interface TokenUsageQuery {
  id?: string | null;
  externalId?: string | null;
  from: Date;
  to: Date;
  granularity: UsageGranularity;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/** Bounds the buckets one query may add up: a month of hours, or a year and a day of days. */
const MAX_RANGE_MS: Record<UsageGranularity, number> = { HOUR: 31 * DAY_MS, DAY: 366 * DAY_MS };

/**
 * Verification outcomes of a token over time, from the counts the gateways record. The
 * token is read as `token(id)` reads it, so the caller's roles and tenant decide what it may
 * see; another tenant's token is NOT_FOUND.
 */
export class TokenUsageAnalytics {
  constructor(
    private readonly tokens: Pick<TokenService, 'getToken'>,
    private readonly counts: Pick<TokenVerificationCountQueries, 'buckets'>,
  ) {}

  async usage(ctx: RequestContext, query: TokenUsageQuery): Promise<UsageBucketRow[]> {
    if (query.externalId != null) throw badInput('tokenUsage by externalId needs identities on tokens; name the token by id', 'externalId');
    if (query.id == null) throw badInput('Name the token by id', 'id');
    const { from, to } = requireRange(query.from, query.to, query.granularity);
    const record = await this.tokens.getToken(ctx, query.id);
    if (!record) throw notFound(`Token ${query.id} not found`);
    return this.counts.buckets(record.tenantId, record.id, from, to, query.granularity);
  }
}

/** The range widened to whole buckets: from the start of `from`'s bucket to the end of `to`'s. */
function requireRange(from: Date, to: Date, granularity: UsageGranularity): { from: Date; to: Date } {
  if (!(from instanceof Date) || Number.isNaN(from.getTime())) throw badInput('from must be an instant', 'from');
  if (!(to instanceof Date) || Number.isNaN(to.getTime())) throw badInput('to must be an instant', 'to');
  if (from.getTime() >= to.getTime()) throw badInput('from must be before to', 'from');
  const size = granularity === 'DAY' ? DAY_MS : HOUR_MS;
  const start = Math.floor(from.getTime() / size) * size;
  const end = Math.ceil(to.getTime() / size) * size;
  if (end - start > MAX_RANGE_MS[granularity]) {
    throw badInput(granularity === 'DAY' ? 'A range of days spans at most 366 days' : 'A range of hours spans at most 31 days; ask for DAY buckets beyond', 'to');
  }
  return { from: new Date(start), to: new Date(end) };
}
