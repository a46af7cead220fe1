import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, Extensions, ID, Info, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { AuditService } from '../../app/audit/audit-service';
import { requireRole } from '../../app/tenant-access';
import { Role } from '../../domain/access/roles';
import type { AuditRecord, SignedHeadRecord } from '../../../projections/audit';
import type { GraphQLContext } from '../context';
import { IDEMPOTENCY_KEY_DESCRIPTION, outcomeOf, type IdempotentMutations } from '../idempotency';
import { EXPENSIVE_QUERY, FIELD_COSTS, ONCE_PER_OPERATION } from '../limits';
import { decodeCursor, pageSize, toConnection } from '../pagination';
import {
  AuditEntry,
  AuditEntryConnection,
  AuditIntegrityReport,
  AuditLogFilter,
  AuditSignedHead,
  AuditSignedHeadConnection,
  SignedAuditHead,
} from '../types/audit-types';

const CURSOR_KIND = 'audit';
const SIGNED_HEAD_CURSOR_KIND = 'auditheads';

function toSignedHead(record: SignedHeadRecord): AuditSignedHead {
  return {
    id: record.eventId,
    tenantId: record.tenantId,
    position: record.position,
    hash: record.hash,
    entries: record.entries,
    signedAt: new Date(record.signedAt),
    kid: record.kid,
    jws: record.jws,
  };
}

function instantOrNull(value: string | null): Date | null {
  const instant = value === null ? null : new Date(value);
  return instant && !Number.isNaN(instant.getTime()) ? instant : null;
}

function toAuditEntry({ entry, hash }: AuditRecord): AuditEntry {
  return { ...entry, occurredAt: new Date(entry.occurredAt), hash };
}

@Resolver(() => AuditEntry)
export class AuditResolver {
  constructor(
    private readonly audit: AuditService,
    private readonly idempotency: IdempotentMutations,
  ) {}

  @Query(() => AuditEntryConnection, { description: "The tenant's audit history, newest first; requires keyledger:audit:read" })
  async auditLog(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('filter', () => AuditLogFilter, { nullable: true }) filter?: AuditLogFilter | null,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
  ): Promise<AuditEntryConnection> {
    const page = await this.audit.log(ctx, {
      tenantId,
      first: pageSize(first),
      beforeSeq: decodeCursor(CURSOR_KIND, after),
      filter: { ...filter, from: filter?.from?.toISOString() ?? null, to: filter?.to?.toISOString() ?? null },
    });
    return toConnection(CURSOR_KIND, page, (record) => toAuditEntry(record));
  }

  @Query(() => String, { description: 'The audit fingerprint of a secret or API key, to find the entries that hold it; requires keyledger:audit:read' })
  async auditFingerprint(@Arg('value', () => String) value: string, @Ctx() ctx: GraphQLContext): Promise<string> {
    return this.audit.fingerprint(ctx, value);
  }

  @Query(() => AuditIntegrityReport, {
    complexity: FIELD_COSTS.chainRecompute,
    description:
      "Recomputes the tenant's hash chain and compares it with the event log and the anchored heads; at most one per operation, rate-limited per credential",
  })
  @Extensions({ [EXPENSIVE_QUERY]: true, [ONCE_PER_OPERATION]: true })
  async auditIntegrity(
    @Ctx() ctx: GraphQLContext,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
    @Arg('full', () => Boolean, { nullable: true, description: 'Compare every entry with the log, not only those after the last verified one' })
    full?: boolean | null,
  ): Promise<AuditIntegrityReport> {
    const report = await this.audit.integrity(ctx, tenantId, { full: full === true });
    return {
      ...report,
      brokenSignedHeads: report.brokenSignedHeads.map(toSignedHead),
      brokenAnchoredHeads: report.brokenAnchoredHeads.map((head) => ({ ...head, signedAt: instantOrNull(head.signedAt) })),
    };
  }

  @Query(() => AuditSignedHeadConnection, { description: "The tenant's periodically signed audit chain heads, newest first; requires keyledger:audit:read" })
  async auditSignedHeads(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
  ): Promise<AuditSignedHeadConnection> {
    const page = await this.audit.signedHeads(ctx, { tenantId, first: pageSize(first), beforeSeq: decodeCursor(SIGNED_HEAD_CURSOR_KIND, after) });
    return toConnection(SIGNED_HEAD_CURSOR_KIND, page, (record) => toSignedHead(record));
  }

  @Mutation(() => SignedAuditHead, {
    description: "Signs the tenant's current audit chain head with the gateway's signing key; a replay under an idempotency key returns the same signed head",
  })
  async signAuditHead(
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<SignedAuditHead> {
    return this.idempotency.run(ctx, info, idempotencyKey, { tenantId }, {
      execute: async () => {
        const head = await this.audit.signHead(ctx, tenantId);
        return { value: { ...head, signedAt: new Date(head.signedAt) }, outcome: { type: 'signed-audit-head', ...head } };
      },
      // The signed statement is public (it is what the JWS says), so the outcome holds it whole.
      replay: async (outcome) => {
        await requireRole(ctx, Role.auditRead);
        const { type: _type, ...head } = outcomeOf(outcome, 'signed-audit-head');
        return { ...head, signedAt: new Date(head.signedAt) };
      },
    });
  }
}
