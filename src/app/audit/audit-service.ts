import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import {
  AuditQueries,
  canonicalJson,
  chainOf,
  GENESIS_HASH,
  toAuditEntry,
  type AuditFilter,
  type AuditRecord,
  type ChainBreak,
  type SignedHeadRecord,
} from '../../../projections/audit';
import { auditHeadsStream, type AuditHeadSigned } from '../../domain/audit/events';
import { ALL_EVENT_TYPES } from '../../domain/audit/event-types';
import { Role } from '../../domain/access/roles';
import { badInput } from '../../domain/errors';
import type { AuditFingerprinter } from '../../crypto/audit-fingerprint';
import { WrongExpectedRevisionError, type EventStore } from '../../eventstore/port';
import type { EventWriter } from '../event-writer';
import { eventMetadata, SYSTEM_ACTOR } from '../request-context';
import type { SigningKeyService } from '../signing-keys/signing-key-service';
import type { Clock } from '../clock';
import type { RequestContext } from '../request-context';
import { requireRole, targetTenant } from '../tenant-access';

export interface AuditIntegrityReport {
  ok: boolean;
  entries: number;
  /** Hash of the last entry that verified. */
  head: string;
  firstBreak: ChainBreak | null;
  /** Heads signed by the periodic round that were compared with the chain. */
  signedHeadsChecked: number;
  /** Signed heads whose hash the chain no longer gives at their position. */
  brokenSignedHeads: SignedHeadRecord[];
}

/** What the periodic round signs for a tenant, canonical JSON in the JWS payload. */
export interface PeriodicAuditHeadClaims {
  tenantId: string;
  position: string;
  hash: string;
  entries: number;
  signedAt: string;
  kid: string;
}

export interface AuditSigningRound {
  signed: Array<PeriodicAuditHeadClaims & { jws: string }>;
  failed: Array<{ tenantId: string; error: unknown }>;
}

/** A chain head signed with the gateway's JWT signing key; checkable with the public JWKS alone. */
export interface SignedAuditHead {
  tenantId: string;
  position: string | null;
  eventId: string | null;
  hash: string;
  entries: number;
  signedAt: string;
  jws: string;
  kid: string;
}

export const AUDIT_HEAD_JWS_TYPE = 'keyledger-audit-head+jws';

export type AuditExportFormat = 'ndjson' | 'csv';

export interface AuditExportRequest {
  tenantId?: string | null;
  /** ISO instants: from inclusive, to exclusive. */
  from?: string | null;
  to?: string | null;
  format: AuditExportFormat;
}

/** What the signature line of an NDJSON export signs: the exported stretch of the chain. */
export interface AuditExportClaims {
  tenantId: string;
  from: string | null;
  to: string | null;
  /** Hash the first exported entry chains from (64 zeros from the start of the chain). */
  previousHash: string;
  /** Hash of the last exported entry (equals previousHash for an empty export). */
  hash: string;
  entries: number;
  position: string | null;
  eventId: string | null;
  signedAt: string;
}

export const AUDIT_EXPORT_JWS_TYPE = 'keyledger-audit-export+jws';

export const AUDIT_CSV_COLUMNS = [
  'id',
  'position',
  'occurredAt',
  'eventType',
  'tenantId',
  'subTenantId',
  'resourceType',
  'resourceId',
  'actorType',
  'actorId',
  'requestId',
  'ip',
  'userAgent',
  'changes',
  'hash',
] as const;

const PAGE = 500;
const SIGNING_ATTEMPTS = 3;
const MAX_FINGERPRINT_INPUT = 4096;

/**
 * Reads of the audit history: every one needs keyledger:audit:read and stays in the caller's
 * tenant (root names one). The history is a read model; the log remains the source of truth,
 * so the integrity check compares the two as well as the chain with itself.
 */
export class AuditService {
  private readonly queries: AuditQueries;
  private readonly readModelsPath: string;

  constructor(
    readModels: Database.Database,
    private readonly store: EventStore,
    private readonly fingerprinter: AuditFingerprinter,
    private readonly signingKeys: SigningKeyService,
    private readonly clock: Clock,
    private readonly writer: EventWriter,
  ) {
    this.queries = new AuditQueries(readModels);
    this.readModelsPath = readModels.name;
  }

  /**
   * Writes the tenant's entries between `from` and `to` to `out`, in log order, one row at a
   * time and waiting for `out` to drain, so memory stays constant however long the history.
   * The rows come from a read-only connection of their own: a statement held open across
   * awaits would otherwise block the projections, which write through the shared one. An
   * NDJSON export starts with a header line, then one `{entry, hash}` line per entry, and
   * ends with the stretch of chain it covers signed with the gateway's signing key.
   */
  async exportTo(ctx: Pick<RequestContext, 'principal'>, request: AuditExportRequest, out: Writable): Promise<void> {
    const chain = await this.chainFor(ctx, request.tenantId);
    const db = new Database(this.readModelsPath, { readonly: true, fileMustExist: true });
    try {
      const first = db
        .prepare<[string, string], { seq: number }>('SELECT seq FROM audit_entries WHERE chain = ? AND occurred_at >= ? ORDER BY seq LIMIT 1')
        .get(chain, request.from ?? '');
      const last = request.to
        ? db
            .prepare<[string, string], { seq: number }>('SELECT seq FROM audit_entries WHERE chain = ? AND occurred_at < ? ORDER BY seq DESC LIMIT 1')
            .get(chain, request.to)
        : db.prepare<[string], { seq: number }>('SELECT max(seq) AS seq FROM audit_entries WHERE chain = ?').get(chain);
      const firstSeq = first?.seq ?? Number.MAX_SAFE_INTEGER;
      const lastSeq = last?.seq ?? 0;
      const previousHash =
        db
          .prepare<[string, number], { hash: string }>('SELECT hash FROM audit_entries WHERE chain = ? AND seq < ? ORDER BY seq DESC LIMIT 1')
          .get(chain, Math.min(firstSeq, lastSeq + 1))?.hash ?? GENESIS_HASH;
      const ndjson = request.format === 'ndjson';
      const header = { tenantId: chain, from: request.from ?? null, to: request.to ?? null, previousHash };
      await write(out, ndjson ? `${JSON.stringify({ header })}\n` : `${AUDIT_CSV_COLUMNS.join(',')}\r\n`);
      let hash = previousHash;
      let entries = 0;
      let lastEntry: { position: string; id: string } | null = null;
      const rows = db
        .prepare<[string, number, number], { entry: string; hash: string }>(
          'SELECT entry, hash FROM audit_entries WHERE chain = ? AND seq >= ? AND seq <= ? ORDER BY seq',
        )
        .iterate(chain, firstSeq, lastSeq);
      for (const row of rows) {
        if (out.destroyed) return;
        const entry = JSON.parse(row.entry) as AuditRecord['entry'];
        await write(out, ndjson ? `{"entry":${row.entry},"hash":"${row.hash}"}\n` : csvRow(entry, row.hash));
        hash = row.hash;
        entries++;
        lastEntry = { position: entry.position, id: entry.id };
      }
      if (!ndjson || out.destroyed) return;
      const claims: AuditExportClaims = {
        ...header,
        hash,
        entries,
        position: lastEntry?.position ?? null,
        eventId: lastEntry?.id ?? null,
        signedAt: this.clock.now().toISOString(),
      };
      const { jws, kid } = await this.signingKeys.signJws(new TextEncoder().encode(canonicalJson(claims)), AUDIT_EXPORT_JWS_TYPE);
      await write(out, `${JSON.stringify({ signature: { ...claims, jws, kid } })}\n`);
    } finally {
      db.close();
    }
  }

  async log(
    ctx: Pick<RequestContext, 'principal'>,
    input: { tenantId?: string | null; filter: AuditFilter; first: number; beforeSeq: number | null },
  ): Promise<{ records: AuditRecord[]; hasNextPage: boolean }> {
    const chain = await this.chainFor(ctx, input.tenantId);
    return this.queries.list(chain, input.filter, input.first, input.beforeSeq);
  }

  async fingerprint(ctx: Pick<RequestContext, 'principal'>, value: string): Promise<string> {
    await requireRole(ctx, Role.auditRead);
    if (value.length === 0 || value.length > MAX_FINGERPRINT_INPUT) throw badInput(`value must be 1 to ${MAX_FINGERPRINT_INPUT} characters`, 'value');
    return this.fingerprinter.ofSecret(value);
  }

  /**
   * Recomputes the tenant's chain, then replays the log and checks that each entry is what
   * its event maps to: an edited audit row breaks the chain, an edited event no longer
   * matches its entry. Reports the first break in log order.
   */
  async integrity(ctx: Pick<RequestContext, 'principal'>, tenantId?: string | null): Promise<AuditIntegrityReport> {
    const chain = await this.chainFor(ctx, tenantId);
    const { checked: signedHeadsChecked, broken: brokenSignedHeads } = this.queries.brokenSignedHeads(chain);
    const signedHeads = { signedHeadsChecked, brokenSignedHeads };
    const stored = this.queries.verifyStoredChain(chain);
    if (stored.firstBreak) return { ok: false, ...stored, ...signedHeads };
    const last = this.queries.head(chain);
    const firstBreak = last ? await this.compareWithLog(chain, BigInt(last.entry.position)) : null;
    return { ok: firstBreak === null && brokenSignedHeads.length === 0, entries: stored.entries, head: stored.head, firstBreak, ...signedHeads };
  }

  /** The heads the periodic round signed for the tenant, newest first. */
  async signedHeads(
    ctx: Pick<RequestContext, 'principal'>,
    input: { tenantId?: string | null; first: number; beforeSeq: number | null },
  ): Promise<{ records: SignedHeadRecord[]; hasNextPage: boolean }> {
    const chain = await this.chainFor(ctx, input.tenantId);
    return this.queries.signedHeads(chain, input.first, input.beforeSeq);
  }

  /**
   * One periodic signing round: every tenant whose chain head moved since its last signed
   * head gets the new head signed and recorded as `AuditHeadSigned` in `audit-heads-<tenant>`.
   * A tenant that fails does not stop the others; failures are returned for the caller to log.
   */
  async signChangedHeads(): Promise<AuditSigningRound> {
    const round: AuditSigningRound = { signed: [], failed: [] };
    for (const tenantId of this.queries.tenantChains()) {
      try {
        const signed = await this.signHeadIfChanged(tenantId);
        if (signed) round.signed.push(signed);
      } catch (error) {
        round.failed.push({ tenantId, error });
      }
    }
    return round;
  }

  /**
   * The append expects the revision the last signed head was read at, so replicas signing
   * the same head at once record it once: the losers re-read, find it signed, and stop.
   * Only the entries after the last signed head are rehashed, which keeps a round cheap on a
   * long chain; the last signed head itself must still be where the chain has it.
   */
  private async signHeadIfChanged(tenantId: string): Promise<(PeriodicAuditHeadClaims & { jws: string }) | null> {
    const streamId = auditHeadsStream(tenantId);
    for (let attempt = 1; attempt <= SIGNING_ATTEMPTS; attempt++) {
      const events = await this.writer.readStream(streamId);
      const lastEvent = events.at(-1);
      const last = lastEvent ? (lastEvent.data as AuditHeadSigned['data']) : null;
      const head = this.queries.head(tenantId);
      if (!head) return null;
      // A replica whose read model lags may see an older head than one already signed.
      if (last && BigInt(last.position) >= BigInt(head.entry.position)) return null;
      let from: { seq: number; hash: string } | undefined;
      if (last) {
        const signedEntry = this.queries.entryAt(tenantId, last.position);
        if (!signedEntry || signedEntry.hash !== last.hash) {
          throw new Error(`The audit chain of tenant ${tenantId} no longer matches its last signed head; refusing to sign`);
        }
        from = { seq: signedEntry.seq, hash: signedEntry.hash };
      }
      const stored = this.queries.verifyStoredChain(tenantId, from);
      if (stored.firstBreak || stored.head !== head.hash) {
        throw new Error(`The audit chain of tenant ${tenantId} does not verify; refusing to sign its head`);
      }
      const key = this.signingKeys.activeKey();
      const claims: PeriodicAuditHeadClaims = {
        tenantId,
        position: head.entry.position,
        hash: head.hash,
        entries: (last?.entries ?? 0) + stored.entries,
        signedAt: this.clock.now().toISOString(),
        kid: key.kid,
      };
      const { jws } = await this.signingKeys.signJws(new TextEncoder().encode(canonicalJson(claims)), AUDIT_HEAD_JWS_TYPE, key);
      const event: AuditHeadSigned = { type: 'AuditHeadSigned', data: { tenantId, position: claims.position, hash: claims.hash, entries: claims.entries, jws } };
      const metadata = eventMetadata({ requestId: `audit-head-${randomUUID()}` }, SYSTEM_ACTOR, this.clock.now());
      try {
        await this.writer.append(streamId, [event], metadata, lastEvent ? lastEvent.revision : 'no_stream');
        return { ...claims, jws };
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
      }
    }
    return null;
  }

  /** Signs the tenant's current chain head, so a later export can be shown to extend it unaltered. */
  async signHead(ctx: Pick<RequestContext, 'principal'>, tenantId?: string | null): Promise<SignedAuditHead> {
    const chain = await this.chainFor(ctx, tenantId);
    return this.signChainHead(chain);
  }

  private async signChainHead(chain: string): Promise<SignedAuditHead> {
    const stored = this.queries.verifyStoredChain(chain);
    const head = this.queries.head(chain);
    const claims = {
      tenantId: chain,
      position: head?.entry.position ?? null,
      eventId: head?.entry.id ?? null,
      hash: stored.firstBreak ? null : stored.head,
      entries: stored.entries,
      signedAt: this.clock.now().toISOString(),
    };
    if (claims.hash === null) throw new Error(`The audit chain of tenant ${chain} does not verify; refusing to sign its head`);
    const { jws, kid } = await this.signingKeys.signJws(new TextEncoder().encode(canonicalJson(claims)), AUDIT_HEAD_JWS_TYPE);
    return { ...claims, hash: claims.hash, jws, kid };
  }

  private async chainFor(ctx: Pick<RequestContext, 'principal'>, tenantId: string | null | undefined): Promise<string> {
    const caller = await requireRole(ctx, Role.auditRead);
    return targetTenant(caller, tenantId);
  }

  private async compareWithLog(chain: string, upTo: bigint): Promise<ChainBreak | null> {
    let page: AuditRecord[] = [];
    let index = 0;
    let lastSeq = 0;
    const nextStored = (): AuditRecord | null => {
      if (index >= page.length) {
        page = this.queries.entriesAfter(chain, lastSeq, PAGE);
        index = 0;
        if (page.length === 0) return null;
      }
      const record = page[index++];
      lastSeq = record.seq;
      return record;
    };
    const subscription = this.store.subscribe({ fromPosition: null, eventTypes: ALL_EVENT_TYPES });
    try {
      for await (const message of subscription) {
        if (message.type === 'caughtUp') break;
        if (message.type !== 'events') continue;
        for (const event of message.events) {
          if (event.position > upTo) return this.unmatchedStored(nextStored());
          const expected = toAuditEntry(event, this.fingerprinter);
          if (chainOf(expected) !== chain) continue;
          const record = nextStored();
          if (!record) return { seq: 0, eventId: event.id, position: expected.position, reason: 'the log has an event the audit history lacks' };
          if (record.entry.id !== event.id) {
            return { seq: record.seq, eventId: record.entry.id, position: record.entry.position, reason: 'the entry does not follow the log order' };
          }
          if (canonicalJson(record.entry) !== canonicalJson(expected)) {
            return { seq: record.seq, eventId: record.entry.id, position: record.entry.position, reason: 'the entry differs from its event in the log' };
          }
        }
      }
    } finally {
      await subscription.close();
    }
    return this.unmatchedStored(nextStored());
  }

  private unmatchedStored(record: AuditRecord | null): ChainBreak | null {
    if (!record) return null;
    return { seq: record.seq, eventId: record.entry.id, position: record.entry.position, reason: 'the entry has no event in the log' };
  }
}

/** Writes a chunk, waiting for the sink to drain (or close) when its buffer is full. */
async function write(out: Writable, chunk: string): Promise<void> {
  if (out.destroyed || out.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
  });
}

function csvRow(entry: AuditRecord['entry'], hash: string): string {
  const values: Array<string | null> = [
    entry.id,
    entry.position,
    entry.occurredAt,
    entry.eventType,
    entry.tenantId,
    entry.subTenantId,
    entry.resource.type,
    entry.resource.id,
    entry.actor.type,
    entry.actor.id,
    entry.requestId,
    entry.ip,
    entry.userAgent,
    canonicalJson(entry.changes),
    hash,
  ];
  return `${values.map(csvField).join(',')}\r\n`;
}

/** RFC 4180 quoting; a leading formula character is prefixed so a spreadsheet shows it as text. */
function csvField(value: string | null): string {
  if (value === null) return '';
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
