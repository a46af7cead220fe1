import type { Database } from 'better-sqlite3';
import { canonicalJson, chainHash, GENESIS_HASH, type AuditEntry } from './audit-entry';

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

interface Row {
  seq: number;
  event_id: string;
  position: string;
  occurred_at: string;
  event_type: string;
  resource_type: string;
  resource_id: string;
  actor_id: string;
  request_id: string | null;
  entry: string;
  hash: string;
}

export class AuditQueries {
  constructor(private readonly db: Database) {}

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
    const rows = this.db
      .prepare<Record<string, unknown>, Row>(`SELECT * FROM audit_entries WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @limit`)
      .all(params);
    return { records: rows.slice(0, first).map(toRecord), hasNextPage: rows.length > first };
  }

  /** A chain's entries in log order, one row at a time (constant memory for exports and checks). */
  *iterate(chain: string): IterableIterator<AuditRecord> {
    const rows = this.db.prepare<[string], Row>('SELECT * FROM audit_entries WHERE chain = ? ORDER BY seq').iterate(chain);
    for (const row of rows) yield toRecord(row);
  }

  /** A chain's entries after `afterSeq` in log order, a page at a time, so no statement stays open across awaits. */
  entriesAfter(chain: string, afterSeq: number, limit: number): AuditRecord[] {
    return this.db
      .prepare<[string, number, number], Row>('SELECT * FROM audit_entries WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?')
      .all(chain, afterSeq, limit)
      .map(toRecord);
  }

  /** The last entry of a chain: the head a signature covers. */
  head(chain: string): AuditRecord | null {
    const row = this.db.prepare<[string], Row>('SELECT * FROM audit_entries WHERE chain = ? ORDER BY seq DESC LIMIT 1').get(chain);
    return row ? toRecord(row) : null;
  }

  /**
   * Recomputes a chain from its stored entries: every hash from the previous one and the
   * canonical entry, and every queried column from the entry it was copied from.
   */
  verifyStoredChain(chain: string): { entries: number; head: string; firstBreak: ChainBreak | null } {
    let previous = GENESIS_HASH;
    let entries = 0;
    const rows = this.db.prepare<[string], Row>('SELECT * FROM audit_entries WHERE chain = ? ORDER BY seq').iterate(chain);
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
