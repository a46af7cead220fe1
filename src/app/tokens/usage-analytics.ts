import { Role } from '../../domain/access/roles';
import { badInput, notFound } from '../../domain/errors';
import { requireExternalId } from '../../domain/validation';
import type { TokenVerificationCountQueries, UsageBucketRow, UsageGranularity } from '../../../projections/tokens';
import type { RequestContext } from '../request-context';
import { requireRole, targetTenant } from '../tenant-access';
import type { TokenService } from './token-service';

export interface TokenUsageQuery {
  id?: string | null;
  externalId?: string | null;
  /** The identity's tenant, for root; others ask in their own. */
  tenantId?: string | null;
  from: Date;
  to: Date;
  granularity: UsageGranularity;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;
/** Bounds the buckets one query may add up: a month of hours, or a year and a day of days. */
const MAX_RANGE_MS: Record<UsageGranularity, number> = { HOUR: 31 * DAY_MS, DAY: 366 * DAY_MS };

/**
 * Verification outcomes of a token, or of an identity's tokens, over time, from the counts
 * the gateways record. A token is read as `token(id)` reads it, so the caller's roles and
 * tenant decide what it may see; another tenant's token is NOT_FOUND. An identity is looked
 * up as `tokens(filter: {externalId})` looks it up: in the caller's tenant, so another
 * tenant's customer has no tokens there and no usage.
 */
export class TokenUsageAnalytics {
  constructor(
    private readonly tokens: Pick<TokenService, 'getToken'>,
    private readonly counts: Pick<TokenVerificationCountQueries, 'buckets' | 'identityBuckets'>,
  ) {}

  async usage(ctx: RequestContext, query: TokenUsageQuery): Promise<UsageBucketRow[]> {
    const { id, externalId } = query;
    if (externalId != null) {
      if (id != null) throw badInput('Name the token by id, or the identity by externalId: one of the two', 'id');
      return this.identityUsage(ctx, externalId, query);
    }
    if (id == null) throw badInput('Name the token by id, or the identity by externalId', 'id');
    if (query.tenantId != null) throw badInput('tenantId goes with externalId; a token id names its tenant', 'tenantId');
    const { from, to } = requireRange(query.from, query.to, query.granularity);
    const record = await this.tokens.getToken(ctx, id);
    if (!record) throw notFound(`Token ${id} not found`);
    return this.counts.buckets(record.tenantId, record.id, from, to, query.granularity);
  }

  /**
   * The tokens that hold the externalId now, each with all of its counts: a token moved to
   * another identity takes its past verifications along, and one issued later brings none.
   */
  private async identityUsage(ctx: RequestContext, externalId: string, query: TokenUsageQuery): Promise<UsageBucketRow[]> {
    const caller = await requireRole(ctx, Role.tokensRead);
    const tenantId = targetTenant(caller, query.tenantId);
    const identity = requireExternalId(externalId);
    const { from, to } = requireRange(query.from, query.to, query.granularity);
    return this.counts.identityBuckets(tenantId, identity, from, to, query.granularity);
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
