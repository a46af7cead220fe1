import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { AuditService } from '../../app/audit/audit-service';
import type { AuditRecord, SignedHeadRecord } from '../../../projections/audit';
import type { GraphQLContext } from '../context';
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

function toAuditEntry({ entry, hash }: AuditRecord): AuditEntry {
  return { ...entry, occurredAt: new Date(entry.occurredAt), hash };
}

@Resolver(() => AuditEntry)
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

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

  @Query(() => AuditIntegrityReport, { description: "Recomputes the tenant's hash chain and compares it with the event log" })
  async auditIntegrity(@Ctx() ctx: GraphQLContext, @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null): Promise<AuditIntegrityReport> {
    const report = await this.audit.integrity(ctx, tenantId);
    return { ...report, brokenSignedHeads: report.brokenSignedHeads.map(toSignedHead) };
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

  @Mutation(() => SignedAuditHead, { description: "Signs the tenant's current audit chain head with the gateway's signing key" })
  async signAuditHead(@Ctx() ctx: GraphQLContext, @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null): Promise<SignedAuditHead> {
    const head = await this.audit.signHead(ctx, tenantId);
    return { ...head, signedAt: new Date(head.signedAt) };
  }
}
