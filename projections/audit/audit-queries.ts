import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import type { PeriodicAuditHeadClaims } from '../../src/domain/audit/events';
import { canonicalJson, chainHash, DEPLOYMENT_CHAIN, GENESIS_HASH, type AuditEntry } from './audit-entry';

export interface AuditFilter {
  resourceType?: string | null;
  resourceId?: string | null;
  actorId?: string | null;
  eventTypes?: readonly string[] | null;
  /** ISO instants: from inclusive, to exclusive. */
  from?: string | null;
  to?: string | null;
  requestId?: string | null;
  fingerprint?: string | null;
}

export interface AuditRecord {
  seq: number;
  entry: AuditEntry;
  hash: string;
}

export interface AuditPage {
  records: AuditRecord[];
  hasNextPage: boolean;
}

/** Where a chain stops verifying: the first entry whose stored hash or columns do not match. */
export interface ChainBreak {
  seq: number;
  eventId: string;
  position: string;
  reason: string;
}

/** A chain head the gateway signed on its periodic round, as recorded in the log. */
export interface SignedHeadRecord extends PeriodicAuditHeadClaims {
  seq: number;
  eventId: string;
  jws: string;
}

interface SignedHeadRow {
  seq: number;
  event_id: string;
  tenant_id: string;
  position: string;
  hash: string;
  entries: number;
  signed_at: string;
  kid: string;
  jws: string;
}

/** Where an entry's event is in the log, for comparing the two without replaying the log. */
export interface LoggedEntry {
  seq: number;
  eventId: string;
  position: string;
  streamId: string;
  revision: number;
  /** The stored canonical entry. */
  entry: string;
}

/**
 * The part of a chain a check covers, as it was when the check began: its entries up to
 * `seq` (the head, at log position `position`), while the whole history had reached `applied`.
 */
export interface ChainSnapshot {
  seq: number;
  position: string;
  hash: string;
  entryId: string | null;
  applied: string | null;
}

interface Row {
  seq: number;
  event_id: string;
  position: string;
  stream_id: string;
  revision: number;
  occurred_at: string;
  event_type: string;
  resource_type: string;
  resource_id: string;
  actor_id: string;
  request_id: string | null;
  /** Null only if its row in audit_entry_texts was deleted, which verification reports. */
  entry: string;
  hash: string;
}

const MAX_CACHED_STATEMENTS = 512;

/** A chain's entries in a time range, read for an export: what came before, then each entry in order. */
export interface AuditExportRange {
  /** The hash the range's first entry chains from. */
  previousHash: string;
  /** The entries, as stored, one at a time. */
  rows: IterableIterator<{ entry: string; hash: string }>;
  close(): void;
}

export class AuditQueries {
  /** `list` builds one statement per combination of filters; each is compiled once. */
  private readonly statements = new Map<string, Statement<Record<string, unknown>, Row>>();

  constructor(private readonly db: Database) {}

  /**
   * The entries of `chain` from `from` (inclusive) to `to` (exclusive), on a read-only
   * connection of their own: a statement held open across awaits would otherwise block the
   * projections, which write through the shared one. Close it when done.
   */
  exportRange(chain: string, from: string | null, to: string | null): AuditExportRange {
    const db = new BetterSqlite3(this.db.name, { readonly: true, fileMustExist: true });
    try {
      const first = db
        .prepare<[string, string], { seq: number }>('SELECT seq FROM audit_entries WHERE chain = ? AND occurred_at >= ? ORDER BY seq LIMIT 1')
        .get(chain, from ?? '');
      const last = to
        ? db
            .prepare<[string, string], { seq: number }>('SELECT seq FROM audit_entries WHERE chain = ? AND occurred_at < ? ORDER BY seq DESC LIMIT 1')
            .get(chain, to)
        : db.prepare<[string], { seq: number }>('SELECT max(seq) AS seq FROM audit_entries WHERE chain = ?').get(chain);
      const firstSeq = first?.seq ?? Number.MAX_SAFE_INTEGER;
      const lastSeq = last?.seq ?? 0;
      const previousHash =
        db
          .prepare<[string, number], { hash: string }>('SELECT hash FROM audit_entries WHERE chain = ? AND seq < ? ORDER BY seq DESC LIMIT 1')
          .get(chain, Math.min(firstSeq, lastSeq + 1))?.hash ?? GENESIS_HASH;
      const rows = db
        .prepare<[string, number, number], { entry: string; hash: string }>(
          'SELECT entry, hash FROM audit_records WHERE chain = ? AND seq >= ? AND seq <= ? ORDER BY seq',
        )
        .iterate(chain, firstSeq, lastSeq);
      return { previousHash, rows, close: () => db.close() };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private statement(sql: string): Statement<Record<string, unknown>, Row> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<Record<string, unknown>, Row>(sql);
      // Long event type lists each make a statement of their own; those few are not kept.
      if (this.statements.size < MAX_CACHED_STATEMENTS) this.statements.set(sql, statement);
    }
    return statement;
  }

  /** A chain's entries, newest first, each filter narrowing through its own index. */
  list(chain: string, filter: AuditFilter, first: number, beforeSeq: number | null): AuditPage {
    const where = ['chain = @chain'];
    const params: Record<string, unknown> = { chain, limit: first + 1 };
    if (beforeSeq !== null) {
      where.push('seq < @beforeSeq');
      params.beforeSeq = beforeSeq;
    }
    if (filter.resourceType != null) {
      where.push('resource_type = @resourceType');
      params.resourceType = filter.resourceType;
    }
    if (filter.resourceId != null) {
      where.push('resource_id = @resourceId');
      params.resourceId = filter.resourceId;
    }
    if (filter.actorId != null) {
      where.push('actor_id = @actorId');
      params.actorId = filter.actorId;
    }
    if (filter.requestId != null) {
      where.push('request_id = @requestId');
      params.requestId = filter.requestId;
    }
    if (filter.from != null) {
      where.push('occurred_at >= @from');
      params.from = filter.from;
    }
    if (filter.to != null) {
      where.push('occurred_at < @to');
      params.to = filter.to;
    }
    if (filter.eventTypes != null) {
      const names = filter.eventTypes.map((type, i) => {
        params[`type${i}`] = type;
        return `@type${i}`;
      });
      where.push(names.length === 0 ? '0' : `event_type IN (${names.join(', ')})`);
    }
    if (filter.fingerprint != null) {
      where.push('seq IN (SELECT seq FROM audit_fingerprints WHERE chain = @chain AND fingerprint = @fingerprint)');
      params.fingerprint = filter.fingerprint;
    }
    /*
     * The page's seqs are chosen first, from the filters' indexes alone where they cover them,
     * and only those rows are read: a time range that has to be sorted then sorts integers,
     * not whole entries.
     */
    const rows = this.statement(
      `SELECT * FROM audit_records WHERE seq IN (SELECT seq FROM audit_entries WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit) ORDER BY seq DESC`,
    ).all(params);
    return { records: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first };
  }

  /** A chain's entries in log order, one row at a time (constant memory for exports and checks). */
  *iterate(chain: string): IterableIterator<AuditRecord> {
    const rows = this.db.prepare<[string], Row>('SELECT * FROM audit_records WHERE chain = ? ORDER BY seq').iterate(chain);
    for (const row of rows) yield toRecord(row);
  }

  /** A chain's entries after `afterSeq` in log order, a page at a time, so no statement stays open across awaits. */
  entriesAfter(chain: string, afterSeq: number, limit: number): AuditRecord[] {
    return this.db
      .prepare<[string, number, number], Row>('SELECT * FROM audit_records WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(chain, afterSeq, limit)
      .map(toRecord);
  }

  /** The last entry of a chain: the head a signature covers. */
  head(chain: string): AuditRecord | null {
    const row = this.db.prepare<[string], Row>('SELECT * FROM audit_records WHERE chain = ? ORDER BY seq DESC LIMIT 1').get(chain);
    return row ? toRecord(row) : null;
  }

  /** The entry of a chain with this event id. */
  entryOfEvent(chain: string, eventId: string): AuditRecord | null {
    const row = this.db.prepare<[string, string], Row>('SELECT * FROM audit_records WHERE chain = ? AND event_id = ?').get(chain, eventId);
    return row ? toRecord(row) : null;
  }

  /** The chain's head and how far the whole history had got, read in one transaction so the two agree. */
  snapshot(chain: string): ChainSnapshot {
    return this.db.transaction(() => {
      const head = this.head(chain);
      const applied = this.db.prepare<[], { position: string }>('SELECT position FROM audit_entries ORDER BY seq DESC LIMIT 1').get()?.position ?? null;
      return head
        ? { seq: head.seq, position: head.entry.position, hash: head.hash, entryId: head.entry.id, applied }
        : { seq: 0, position: '0', hash: GENESIS_HASH, entryId: null, applied };
    })();
  }

  /** A chain's entries after `afterSeq` and up to `upToSeq`, with their events' places in the log, a page at a time. */
  loggedEntries(chain: string, afterSeq: number, upToSeq: number, limit: number): LoggedEntry[] {
    return this.db
      .prepare<[string, number, number, number], Row>('SELECT * FROM audit_records WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?')
      .all(chain, afterSeq, upToSeq, limit)
      .map((row) => ({ seq: row.seq, eventId: row.event_id, position: row.position, streamId: row.stream_id, revision: row.revision, entry: row.entry }));
  }

  /** Every tenant that has a chain (the deployment chain is not a tenant's). */
  tenantChains(): string[] {
    return this.db
      .prepare<[string], { chain: string }>('SELECT DISTINCT chain FROM audit_entries WHERE chain <> ?')
      .all(DEPLOYMENT_CHAIN)
      .map((row) => row.chain);
  }

  /** The entry of a chain at a log position. */
  entryAt(chain: string, position: string): AuditRecord | null {
    const row = this.db.prepare<[string, string], Row>('SELECT * FROM audit_records WHERE chain = ? AND position = ?').get(chain, position);
    return row ? toRecord(row) : null;
  }

  /** A tenant's signed heads, newest first. */
  signedHeads(tenantId: string, first: number, beforeSeq: number | null): { records: SignedHeadRecord[]; hasNextPage: boolean } {
    const rows = this.db
      .prepare<[string, number, number], SignedHeadRow>('SELECT * FROM audit_signed_heads WHERE tenant_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?')
      .all(tenantId, beforeSeq ?? Number.MAX_SAFE_INTEGER, first + 1);
    return { records: rows.slice(0, first).map(toSignedHead), hasNextPage: rows.length > first };
  }

  /** Every signed head of a tenant, oldest first. */
  allSignedHeads(tenantId: string): SignedHeadRecord[] {
    return this.db
      .prepare<[string], SignedHeadRow>('SELECT * FROM audit_signed_heads WHERE tenant_id = ? ORDER BY seq')
      .all(tenantId)
      .map(toSignedHead);
  }

  /**
   * Signed heads whose hash is no longer what the chain gives at their position. The hash at
   * each position is recomputed from the stored entries (not copied from the stored hashes),
   * so an edited entry before a signed head breaks it whether or not the later hashes were
   * rewritten to match, and a rewritten stored hash breaks it too, as does a different number
   * of entries up to it.
   */
  brokenSignedHeads(chain: string, upTo?: ChainSnapshot): { checked: number; broken: SignedHeadRecord[] } {
    return this.brokenHeads(chain, this.allSignedHeads(chain), upTo);
  }

  /**
   * The heads (signed heads of the log, or anchored ones) that the stored chain no longer
   * gives, recomputing it from the entries up to `upTo`. Heads beyond the position the
   * history had reached then are not checked: the history may just not have got there yet.
   */
  brokenHeads<Head extends { position: string; hash: string; entries: number }>(chain: string, all: Head[], upTo?: ChainSnapshot): { checked: number; broken: Head[] } {
    const limit = upTo ? BigInt(upTo.applied ?? '0') : null;
    const heads = limit === null ? all : all.filter((head) => BigInt(head.position) <= limit);
    if (heads.length === 0) return { checked: 0, broken: [] };
    const byPosition = new Map<string, Head[]>();
    for (const head of heads) byPosition.set(head.position, [...(byPosition.get(head.position) ?? []), head]);
    const broken = new Set<Head>();
    const seen = new Set<string>();
    let previous = GENESIS_HASH;
    let count = 0;
    const rows = this.db
      .prepare<[string, number], Pick<Row, 'position' | 'entry' | 'hash'>>('SELECT position, entry, hash FROM audit_records WHERE chain = ? AND seq <= ? ORDER BY seq')
      .iterate(chain, upTo?.seq ?? Number.MAX_SAFE_INTEGER);
    for (const row of rows) {
      previous = chainHash(previous, row.entry);
      count++;
      const signed = byPosition.get(row.position);
      if (!signed) continue;
      seen.add(row.position);
      for (const head of signed) if (head.hash !== previous || head.hash !== row.hash || head.entries !== count) broken.add(head);
    }
    for (const head of heads) if (!seen.has(head.position)) broken.add(head);
    return { checked: heads.length, broken: heads.filter((head) => broken.has(head)) };
  }

  /**
   * Recomputes a chain from its stored entries: every hash from the previous one and the
   * canonical entry, and every queried column from the entry it was copied from.
   */
  verifyStoredChain(
    chain: string,
    from: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
    upToSeq: number = Number.MAX_SAFE_INTEGER,
  ): { entries: number; head: string; firstBreak: ChainBreak | null } {
    let previous = from.hash;
    let entries = 0;
    const rows = this.db
      .prepare<[string, number, number], Row>('SELECT * FROM audit_records WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq')
      .iterate(chain, from.seq, upToSeq);
    for (const row of rows) {
      entries++;
      const reason = rowBreak(row, previous);
      if (reason) {
        return { entries, head: previous, firstBreak: { seq: row.seq, eventId: row.event_id, position: row.position, reason } };
      }
      previous = row.hash;
    }
    return { entries, head: previous, firstBreak: null };
  }
}

function rowBreak(row: Row, previous: string): string | null {
  if (typeof row.entry !== 'string') return 'the stored entry is missing';
  let entry: AuditEntry;
  try {
    entry = JSON.parse(row.entry) as AuditEntry;
  } catch {
    return 'the stored entry is not JSON';
  }
  if (canonicalJson(entry) !== row.entry) return 'the stored entry is not in canonical form';
  if (chainHash(previous, row.entry) !== row.hash) return 'the hash does not match the previous hash and the entry';
  const columns: Array<[unknown, unknown]> = [
    [row.event_id, entry.id],
    [row.position, entry.position],
    [row.occurred_at, entry.occurredAt],
    [row.event_type, entry.eventType],
    [row.resource_type, entry.resource?.type],
    [row.resource_id, entry.resource?.id],
    [row.actor_id, entry.actor?.id],
    [row.request_id, entry.requestId],
  ];
  if (columns.some(([column, value]) => column !== value)) return 'an indexed column differs from the entry';
  return null;
}

function toRecord(row: Row): AuditRecord {
  return { seq: row.seq, entry: JSON.parse(row.entry) as AuditEntry, hash: row.hash };
}

function toSignedHead(row: SignedHeadRow): SignedHeadRecord {
  return {
    seq: row.seq,
    eventId: row.event_id,
    tenantId: row.tenant_id,
    position: row.position,
    hash: row.hash,
    entries: row.entries,
    signedAt: row.signed_at,
    kid: row.kid,
    jws: row.jws,
  };
}
