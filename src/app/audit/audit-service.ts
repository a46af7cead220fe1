import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import {
  type AuditQueries,
  canonicalJson,
  chainOf,
  toAuditEntry,
  type AuditFilter,
  isAuditedEventType,
  type AuditRecord,
  type ChainBreak,
  type ChainSnapshot,
  type LoggedEntry,
  type SignedHeadRecord,
} from '../../../projections/audit';
import { auditHeadsStream, type AuditHeadSigned } from '../../domain/audit/events';
import { Role } from '../../domain/access/roles';
import { badInput } from '../../domain/errors';
import { AUDIT_FINGERPRINT_PREFIX, type AuditFingerprinter } from '../../crypto/audit-fingerprint';
import { WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '../../eventstore/port';
import type { EventWriter } from '../event-writer';
import { eventMetadata, SYSTEM_ACTOR } from '../request-context';
import type { SigningKeyService } from '../signing-keys/signing-key-service';
import type { Clock } from '../clock';
import type { RequestContext } from '../request-context';
import { requireRole, targetTenant } from '../tenant-access';
import { AUDIT_HEAD_JWS_TYPE, AuditAnchor, type AnchoredHead, type PeriodicAuditHeadClaims } from './audit-anchor';

export { AUDIT_HEAD_JWS_TYPE, type PeriodicAuditHeadClaims } from './audit-anchor';

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
  /** Entries this check compared with their events in the log (those after `comparedFrom`). */
  comparedWithLog: number;
  /** Position of the last entry an earlier check of this process compared with the log; null when this one compared the whole chain. */
  comparedFrom: string | null;
  /** Whether an anchor directory is configured, so that anchored heads were checked. */
  anchored: boolean;
  /** Heads read from the anchor and compared with the chain and with the signed heads of the log. */
  anchoredHeadsChecked: number;
  /** Anchored heads the chain or the log no longer agrees with, and anchor lines that do not verify; any makes ok false. */
  brokenAnchoredHeads: BrokenAnchoredHead[];
}

/** An anchored head the store does not agree with, or a line of the anchor that is not a valid head. */
export interface BrokenAnchoredHead {
  line: number;
  position: string | null;
  hash: string | null;
  entries: number | null;
  signedAt: string | null;
  reason: string;
}

/**
 * Where an earlier check of this process found the chain equal to the log: the entry's event
 * id and its hash. The hash commits to every entry before it, so a later check that
 * recomputes the whole stored chain and finds this hash at this event knows that nothing up
 * to it changed since, and compares only the entries after it with the log. Kept in memory,
 * out of reach of whoever can write the data directory.
 */
interface VerifiedPoint {
  seq: number;
  eventId: string;
  position: string;
  hash: string;
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
const FINGERPRINT_FORM = new RegExp(`^${AUDIT_FINGERPRINT_PREFIX}[0-9a-f]{64}$`);

/**
 * A range that ends before it starts, or a fingerprint in no form the history holds, would
 * only ever match nothing: an empty answer would pass for "no such entries".
 */
function checkRange(range: { from?: string | null; to?: string | null }, field: (name: 'from' | 'to') => string): void {
  if (range.from && range.to && Date.parse(range.from) > Date.parse(range.to)) {
    throw badInput(`${field('from')} must not be later than ${field('to')}`, field('from'));
  }
}

function checkFilter(filter: AuditFilter): void {
  checkRange(filter, (name) => `filter.${name}`);
  if (filter.fingerprint != null && !FINGERPRINT_FORM.test(filter.fingerprint)) {
    throw badInput(`filter.fingerprint must be ${AUDIT_FINGERPRINT_PREFIX} and 64 lowercase hex digits, as auditFingerprint returns`, 'filter.fingerprint');
  }
}

/**
 * Reads of the audit history: every one needs keyledger:audit:read and stays in the caller's
 * tenant (root names one). The history is a read model; the log remains the source of truth,
 * so the integrity check compares the two as well as the chain with itself.
 */
export class AuditService {
  /** Per chain, the last entry a check found equal to its event in the log. */
  private readonly verified = new Map<string, VerifiedPoint>();

  constructor(
    private readonly queries: AuditQueries,
    private readonly store: EventStore,
    private readonly fingerprinter: AuditFingerprinter,
    private readonly signingKeys: SigningKeyService,
    private readonly clock: Clock,
    private readonly writer: EventWriter,
    private readonly anchor: AuditAnchor = new AuditAnchor({ dir: null, witnessUrl: null }),
  ) {}

  /**
   * Writes the tenant's entries between `from` and `to` to `out`, in log order, one row at a
   * time and waiting for `out` to drain, so memory stays constant however long the history.
   * An NDJSON export starts with a header line, then one `{entry, hash}` line per entry, and
   * ends with the stretch of chain it covers signed with the gateway's signing key.
   */
  async exportTo(ctx: Pick<RequestContext, 'principal'>, request: AuditExportRequest, out: Writable): Promise<void> {
    const chain = await this.chainFor(ctx, request.tenantId);
    checkRange(request, (name) => name);
    const range = this.queries.exportRange(chain, request.from ?? null, request.to ?? null);
    try {
      const { previousHash } = range;
      const ndjson = request.format === 'ndjson';
      const header = { tenantId: chain, from: request.from ?? null, to: request.to ?? null, previousHash };
      await write(out, ndjson ? `${JSON.stringify({ header })}\n` : `${AUDIT_CSV_COLUMNS.join(',')}\r\n`);
      let hash = previousHash;
      let entries = 0;
      let lastEntry: { position: string; id: string } | null = null;
      for (const row of range.rows) {
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
      range.close();
    }
  }

  async log(
    ctx: Pick<RequestContext, 'principal'>,
    input: { tenantId?: string | null; filter: AuditFilter; first: number; beforeSeq: number | null },
  ): Promise<{ records: AuditRecord[]; hasNextPage: boolean }> {
    const chain = await this.chainFor(ctx, input.tenantId);
    checkFilter(input.filter);
    return this.queries.list(chain, input.filter, input.first, input.beforeSeq);
  }

  async fingerprint(ctx: Pick<RequestContext, 'principal'>, value: string): Promise<string> {
    await requireRole(ctx, Role.auditRead);
    if (value.length === 0 || value.length > MAX_FINGERPRINT_INPUT) throw badInput(`value must be 1 to ${MAX_FINGERPRINT_INPUT} characters`, 'value');
    return this.fingerprinter.ofSecret(value);
  }

  /**
   * Checks the tenant's history as it is when the check starts (its head then bounds every
   * read, so entries other writers add meanwhile are neither compared nor taken for extra
   * ones): the whole stored chain with itself, the signed heads of the log and of the anchor
   * against it, and the entries after the last point an earlier check verified against
   * their events in the log, read stream by stream. `full` compares every entry with the log.
   * Reports the first break in log order.
   */
  async integrity(ctx: Pick<RequestContext, 'principal'>, tenantId?: string | null, options: { full?: boolean } = {}): Promise<AuditIntegrityReport> {
    const chain = await this.chainFor(ctx, tenantId);
    const snapshot = this.queries.snapshot(chain);
    const { checked: signedHeadsChecked, broken: brokenSignedHeads } = this.queries.brokenSignedHeads(chain, snapshot);
    const anchor = await this.checkAnchor(chain, snapshot);
    const report = {
      signedHeadsChecked,
      brokenSignedHeads,
      comparedWithLog: 0,
      comparedFrom: null as string | null,
      anchored: anchor !== null,
      anchoredHeadsChecked: anchor?.checked ?? 0,
      brokenAnchoredHeads: anchor?.broken ?? [],
    };
    const headsOk = brokenSignedHeads.length === 0 && report.brokenAnchoredHeads.length === 0;
    const stored = this.queries.verifyStoredChain(chain, undefined, snapshot.seq);
    if (stored.firstBreak) return { ok: false, ...stored, ...report };

    let from: VerifiedPoint | null = options.full ? null : (this.verified.get(chain) ?? null);
    if (from) {
      const entry = this.queries.entryOfEvent(chain, from.eventId);
      if (!entry || entry.hash !== from.hash) {
        const firstBreak = { seq: entry?.seq ?? 0, eventId: from.eventId, position: from.position, reason: 'the history up to the last verified entry changed since it was verified' };
        return { ok: false, ...stored, firstBreak, ...report };
      }
      from = { ...from, seq: entry.seq };
    }
    report.comparedFrom = from?.position ?? null;
    const compared = await this.compareWithLog(chain, from, snapshot);
    report.comparedWithLog = compared.entries;
    if (compared.firstBreak) return { ok: false, ...stored, firstBreak: compared.firstBreak, ...report };
    if (snapshot.entryId !== null && headsOk) this.remember(chain, { seq: snapshot.seq, eventId: snapshot.entryId, position: snapshot.position, hash: snapshot.hash });
    return { ok: headsOk, ...stored, firstBreak: null, ...report };
  }

  private remember(chain: string, point: VerifiedPoint): void {
    const known = this.verified.get(chain);
    if (known && BigInt(known.position) >= BigInt(point.position)) return;
    this.verified.set(chain, point);
  }

  /**
   * The tenant's anchored heads against the stored chain (up to the snapshot) and against the
   * signed heads of the log: an anchored head the chain no longer gives means the history was
   * rewritten before it; one the log no longer records (once the history has reached where the
   * log recorded it) means `AuditHeadSigned` events were removed; one beyond the end of the
   * log means the log was cut short. Null without an anchor directory.
   */
  private async checkAnchor(chain: string, snapshot: ChainSnapshot): Promise<{ checked: number; broken: BrokenAnchoredHead[] } | null> {
    const reading = await this.anchor.read(chain, async (header) => {
      const key = typeof header.kid === 'string' ? this.signingKeys.verificationKey(header.kid) : null;
      if (!key) throw new Error('signed with a key this gateway does not know');
      return key.key;
    });
    if (!reading) return null;
    // The tenant's file holds only its own heads: another tenant's there was put there by hand.
    const problems = [...reading.invalid, ...reading.foreign.map((line) => ({ line, problem: "another tenant's signed head" }))];
    const broken: BrokenAnchoredHead[] = problems.map(({ line, problem }) => ({ line, position: null, hash: null, entries: null, signedAt: null, reason: problem }));
    const describe = (head: AnchoredHead, reason: string): BrokenAnchoredHead => ({
      line: head.line,
      position: head.position,
      hash: head.hash,
      entries: head.entries,
      signedAt: head.signedAt,
      reason,
    });
    const { checked, broken: unmatched } = this.queries.brokenHeads(chain, reading.heads, snapshot);
    for (const head of unmatched) broken.push(describe(head, 'the history no longer gives this head at its position'));
    const inLog = new Set(this.queries.allSignedHeads(chain).map((head) => head.jws));
    const applied = BigInt(snapshot.applied ?? '0');
    const logHead = reading.heads.some((head) => BigInt(head.eventPosition ?? head.position) > applied) ? await this.store.headPosition() : null;
    for (const head of reading.heads) {
      if (unmatched.includes(head)) continue;
      const recordedAt = BigInt(head.eventPosition ?? head.position);
      if (recordedAt > applied) {
        // Usually the history has not got there yet; but a log that ends before it lost events.
        if (logHead === null || logHead < recordedAt) broken.push(describe(head, 'the log ends before this anchored head'));
      } else if (head.eventPosition !== null && !inLog.has(head.jws)) {
        broken.push(describe(head, 'the log no longer records this signed head'));
      }
    }
    broken.sort((a, b) => a.line - b.line);
    return { checked, broken };
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
      let eventPosition: bigint;
      try {
        eventPosition = await this.writer.append(streamId, [event], metadata, lastEvent ? lastEvent.revision : 'no_stream');
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        continue;
      }
      // Only the replica whose append won publishes, so the anchor holds each head once.
      if (this.anchor.publishes) await this.anchor.publish({ ...claims, jws, eventPosition: eventPosition.toString() });
      return { ...claims, jws };
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

  /**
   * Compares the chain's entries after `from` (up to the snapshot) with their events, read
   * from each entry's stream rather than by replaying the log, so the cost follows the
   * tenant's own history. Each stream is read from just before its first entry to its last
   * one, so an event of the tenant in between that the history lacks is found too.
   */
  private async compareWithLog(chain: string, from: VerifiedPoint | null, snapshot: ChainSnapshot): Promise<{ entries: number; firstBreak: ChainBreak | null }> {
    const after = from === null ? null : BigInt(from.position);
    const upTo = BigInt(snapshot.position);
    /** The last revision of each stream already compared, so a stream is read once across pages. */
    const readUpTo = new Map<string, number>();
    let afterSeq = from?.seq ?? 0;
    let entries = 0;
    let lastPosition = after ?? -1n;
    for (;;) {
      const page = this.queries.loggedEntries(chain, afterSeq, snapshot.seq, PAGE);
      if (page.length === 0) return { entries, firstBreak: null };
      const byStream = new Map<string, LoggedEntry[]>();
      for (const entry of page) byStream.set(entry.streamId, [...(byStream.get(entry.streamId) ?? []), entry]);
      const events = new Map<string, RecordedEvent>();
      for (const [streamId, streamEntries] of byStream) {
        const first = Math.min(...streamEntries.map((entry) => entry.revision));
        const last = Math.max(...streamEntries.map((entry) => entry.revision));
        const start = readUpTo.has(streamId) ? readUpTo.get(streamId)! + 1 : Math.max(0, first - 1);
        for (let revision = start; revision <= last; ) {
          const read = await this.store.readStream(streamId, { fromRevision: revision, maxCount: Math.min(PAGE, last - revision + 1) });
          if (read.length === 0) break;
          for (const event of read) {
            events.set(event.id, event);
            revision = event.revision + 1;
          }
        }
        readUpTo.set(streamId, last);
      }
      const inPage = new Set(page.map((entry) => entry.eventId));
      for (const event of events.values()) {
        if (inPage.has(event.id) || !isAuditedEventType(event.type)) continue;
        if ((after !== null && event.position <= after) || event.position > upTo) continue;
        const expected = toAuditEntry(event, this.fingerprinter);
        if (chainOf(expected) !== chain) continue;
        return { entries, firstBreak: { seq: 0, eventId: event.id, position: expected.position, reason: 'the log has an event the audit history lacks' } };
      }
      for (const entry of page) {
        entries++;
        const position = BigInt(entry.position);
        if (position <= lastPosition) {
          return { entries, firstBreak: { seq: entry.seq, eventId: entry.eventId, position: entry.position, reason: 'the entry does not follow the log order' } };
        }
        lastPosition = position;
        const event = events.get(entry.eventId);
        if (!event || event.streamId !== entry.streamId || event.revision !== entry.revision || event.position !== position) {
          return { entries, firstBreak: { seq: entry.seq, eventId: entry.eventId, position: entry.position, reason: 'the entry has no event in the log' } };
        }
        if (!isAuditedEventType(event.type) || canonicalJson(toAuditEntry(event, this.fingerprinter)) !== entry.entry) {
          return { entries, firstBreak: { seq: entry.seq, eventId: entry.eventId, position: entry.position, reason: 'the entry differs from its event in the log' } };
        }
      }
      afterSeq = page[page.length - 1].seq;
    }
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
