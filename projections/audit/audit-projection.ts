import type { Database } from 'better-sqlite3';
import type { AuditFingerprints } from '../../src/domain/audit/mappings';
import type { AuditHeadSigned } from '../../src/domain/audit/events';
import { ALL_EVENT_TYPES } from '../../src/domain/audit/event-types';
import { parsePosition, type RecordedEvent } from '../../src/eventstore/port';
import { hasTable } from '../database';
import type { Projection, ProjectionHandler } from '../projection';
import { AuditEntriesAhead, type AuditReplaySource } from './audit-entries-ahead';
import { GENESIS_HASH, storedEntry } from './audit-entry';

export const AUDIT_PROJECTION_NAME = 'audit';

/**
 * The `audit` read model: one redacted entry per event, in log order, each chained to the
 * previous entry of its tenant by `hash`. The canonical entry is stored as written and the
 * queried columns beside it; fingerprints get a table of their own so a leaked secret's
 * fingerprint is one indexed lookup. With a `replaySource`, a replay from empty computes its
 * entries ahead of itself on a worker thread (see AuditEntriesAhead).
 */
export function auditProjection(fingerprints: AuditFingerprints, replaySource?: AuditReplaySource): Projection {
  return {
    name: AUDIT_PROJECTION_NAME,
    // 3: each entry names its event's stream and revision, so the integrity check reads the tenant's events alone.
    // 4: the unique event id index is named, so a replay builds it last; the canonical entry has a
    // table of its own (audit_entry_texts), so building or scanning an index does not read it.
    version: 4,
    eventTypes: ALL_EVENT_TYPES,
    // The handler reads only the chain head (audit_entries_by_chain) and event ids; the replay handler neither.
    indexesBuiltAfterReplay: [
      'audit_entries_by_event_id',
      'audit_entries_by_chain',
      'audit_entries_by_resource',
      'audit_entries_by_actor',
      'audit_entries_by_type',
      'audit_entries_by_request',
      'audit_entries_by_time',
      'audit_entries_by_type_time',
      'audit_entries_by_position',
    ],

    migrate(db: Database) {
      db.exec(`
        CREATE TABLE IF NOT EXISTS audit_entries (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          event_id TEXT NOT NULL,
          position TEXT NOT NULL,
          stream_id TEXT NOT NULL,
          revision INTEGER NOT NULL,
          chain TEXT NOT NULL,
          occurred_at TEXT NOT NULL,
          event_type TEXT NOT NULL,
          resource_type TEXT NOT NULL,
          resource_id TEXT NOT NULL,
          actor_id TEXT NOT NULL,
          request_id TEXT,
          hash TEXT NOT NULL
        );
        -- The canonical entries, by their entry's seq: read only with the entries they belong to.
        CREATE TABLE IF NOT EXISTS audit_entry_texts (
          seq INTEGER PRIMARY KEY,
          entry TEXT NOT NULL
        );
        -- An entry with its canonical text, as queries read it (an entry without one reads as a null entry, which never verifies).
        CREATE VIEW IF NOT EXISTS audit_records AS
          SELECT e.seq, e.event_id, e.position, e.stream_id, e.revision, e.chain, e.occurred_at, e.event_type, e.resource_type,
                 e.resource_id, e.actor_id, e.request_id, t.entry, e.hash
          FROM audit_entries e LEFT JOIN audit_entry_texts t ON t.seq = e.seq;
        CREATE UNIQUE INDEX IF NOT EXISTS audit_entries_by_event_id ON audit_entries (event_id);
        CREATE INDEX IF NOT EXISTS audit_entries_by_chain ON audit_entries (chain, seq);
        CREATE INDEX IF NOT EXISTS audit_entries_by_resource ON audit_entries (chain, resource_type, resource_id, seq);
        CREATE INDEX IF NOT EXISTS audit_entries_by_actor ON audit_entries (chain, actor_id, seq);
        CREATE INDEX IF NOT EXISTS audit_entries_by_type ON audit_entries (chain, event_type, seq);
        CREATE INDEX IF NOT EXISTS audit_entries_by_request ON audit_entries (chain, request_id, seq);
        CREATE INDEX IF NOT EXISTS audit_entries_by_time ON audit_entries (chain, occurred_at, seq);
        -- Event types within a time range, without reading the entries.
        CREATE INDEX IF NOT EXISTS audit_entries_by_type_time ON audit_entries (chain, event_type, occurred_at);
        CREATE TABLE IF NOT EXISTS audit_fingerprints (
          chain TEXT NOT NULL,
          fingerprint TEXT NOT NULL,
          seq INTEGER NOT NULL,
          PRIMARY KEY (chain, fingerprint, seq)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS audit_entries_by_position ON audit_entries (chain, position);
        CREATE TABLE IF NOT EXISTS audit_signed_heads (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          event_id TEXT NOT NULL UNIQUE,
          tenant_id TEXT NOT NULL,
          position TEXT NOT NULL,
          hash TEXT NOT NULL,
          entries INTEGER NOT NULL,
          signed_at TEXT NOT NULL,
          kid TEXT NOT NULL,
          jws TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS audit_signed_heads_by_tenant ON audit_signed_heads (tenant_id, seq);
      `);
      // What a replay staged (see replayHandler), in key order: appended to the table's B-tree instead of inserted at random.
      if (hasTable(db, FINGERPRINTS_STAGING)) {
        db.exec(`
          INSERT OR IGNORE INTO audit_fingerprints (chain, fingerprint, seq)
          SELECT chain, fingerprint, seq FROM ${FINGERPRINTS_STAGING} ORDER BY chain, fingerprint, seq;
          DROP TABLE ${FINGERPRINTS_STAGING};
        `);
      }
    },

    drop(db: Database) {
      db.exec(`
        DROP VIEW IF EXISTS audit_records;
        DROP TABLE IF EXISTS audit_entries; DROP TABLE IF EXISTS audit_entry_texts; DROP TABLE IF EXISTS audit_fingerprints;
        DROP TABLE IF EXISTS audit_signed_heads; DROP TABLE IF EXISTS ${FINGERPRINTS_STAGING};
      `);
    },

    handler(db: Database): ProjectionHandler {
      const head = db.prepare<[string], { hash: string }>('SELECT hash FROM audit_entries WHERE chain = ? ORDER BY seq DESC LIMIT 1');
      const headOf = (chain: string) => head.get(chain)?.hash ?? GENESIS_HASH;
      // Every chain, one index seek each: one per tenant, however many entries each holds.
      const chains = db
        .prepare<[], string>(
          `WITH RECURSIVE chains (chain) AS (
             SELECT min(chain) FROM audit_entries
             UNION ALL SELECT (SELECT min(chain) FROM audit_entries WHERE chain > chains.chain) FROM chains WHERE chain IS NOT NULL
           ) SELECT chain FROM chains WHERE chain IS NOT NULL`,
        )
        .pluck();
      const lastPosition = db.prepare<[], string>('SELECT position FROM audit_entries ORDER BY seq DESC LIMIT 1').pluck();
      /** Where the heads stand: after the batch's first event, or after the last entry if that is later (the runner will pass over the events up to it). */
      const headsAfter = (events: readonly RecordedEvent[]): bigint => {
        const before = events[0].position - 1n;
        const last = lastPosition.get();
        const applied = last === undefined ? null : parsePosition(last);
        return applied !== null && applied > before ? applied : before;
      };
      // An event seen before is not inserted again: a second entry would fork the chain.
      return entryWriter(db, fingerprints, {
        insertEntry: insertEntrySql('ON CONFLICT (event_id) DO NOTHING'),
        insertFingerprint: 'INSERT OR IGNORE INTO audit_fingerprints (chain, fingerprint, seq) VALUES (?, ?, ?)',
        headOf,
        // Chain heads read or written during a batch are forgotten after it (see ProjectionHandler.endBatch).
        forgetHeadsAfterBatch: true,
        // A catch-up (a restart after downtime, a replica back from a disconnection) applies
        // batches as long as a replay's: their entries are computed ahead on the worker, from
        // the heads the read models hold before the batch.
        startAhead: replaySource
          ? (events) =>
              AuditEntriesAhead.start(replaySource, ALL_EVENT_TYPES, {
                after: headsAfter(events),
                heads: new Map(chains.all().map((chain) => [chain, headOf(chain)])),
              })
          : undefined,
      });
    },

    /*
     * A replay from empty appends every entry at the end of `audit_entries` with its unique
     * event id index and chain index left to the end, keeps every chain's head in memory (the
     * table held none when it began), and stages fingerprint rows for `migrate` to move into
     * their table in key order. Event ids are unique in the log (the SQLite store's events.id
     * is UNIQUE, and EventStoreDB events are written with ids of their own), so no entry is
     * skipped; a log that repeated one would fail the index build at the end rather than
     * differ from `handler`'s chain.
     */
    replayHandler(db: Database): ProjectionHandler {
      db.exec(`CREATE TABLE IF NOT EXISTS ${FINGERPRINTS_STAGING} (chain TEXT NOT NULL, fingerprint TEXT NOT NULL, seq INTEGER NOT NULL)`);
      return entryWriter(db, fingerprints, {
        insertEntry: insertEntrySql(''),
        insertFingerprint: `INSERT INTO ${FINGERPRINTS_STAGING} (chain, fingerprint, seq) VALUES (?, ?, ?)`,
        headOf: () => GENESIS_HASH,
        forgetHeadsAfterBatch: false,
        ahead: replaySource ? AuditEntriesAhead.start(replaySource, ALL_EVENT_TYPES) : null,
      });
    },
  };
}

/** Where a replay puts fingerprint rows until `migrate` moves them into `audit_fingerprints`. */
const FINGERPRINTS_STAGING = 'audit_fingerprints_replay';

// Positional parameters: binding an object by name costs more than the insert itself on a replay.
function insertEntrySql(onConflict: string): string {
  return `
    INSERT INTO audit_entries
      (event_id, position, stream_id, revision, chain, occurred_at, event_type, resource_type, resource_id, actor_id, request_id, hash)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ${onConflict}`;
}

interface EntryWriterOptions {
  insertEntry: string;
  insertFingerprint: string;
  /** The hash of the chain's last stored entry, or GENESIS_HASH. */
  headOf(chain: string): string;
  forgetHeadsAfterBatch: boolean;
  /** Entries computed ahead of the replay, or null. */
  ahead?: AuditEntriesAhead | null;
  /** Starts computing entries ahead from a batch of at least AHEAD_FROM_BATCH_EVENTS events on, or returns null. */
  startAhead?: (events: readonly RecordedEvent[]) => AuditEntriesAhead | null;
}

/**
 * Events in a batch from which the handler has the entries of it and the batches after it
 * computed ahead (see EntryWriterOptions.startAhead): only a catch-up's batches are this long
 * (the runner asks for 2,000 events at a time); a running gateway's hold the appends of one
 * group commit.
 */
const AHEAD_FROM_BATCH_EVENTS = 1_000;

/** Writes each event's entry, chained to its chain's head, with its fingerprints and (for AuditHeadSigned) the signed head. */
function entryWriter(db: Database, fingerprints: AuditFingerprints, options: EntryWriterOptions): ProjectionHandler {
  const insert = db.prepare(options.insertEntry);
  // CAST: a text given as its UTF-8 bytes is stored as that text, exactly as its string would be, not as a blob.
  const insertText = db.prepare('INSERT INTO audit_entry_texts (seq, entry) VALUES (?, CAST(? AS TEXT))');
  const insertFingerprint = db.prepare(options.insertFingerprint);
  const insertSignedHead = db.prepare(`
    INSERT OR IGNORE INTO audit_signed_heads (event_id, tenant_id, position, hash, entries, signed_at, kid, jws)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  const heads = new Map<string, string>();
  const headOf = (chain: string) => heads.get(chain) ?? options.headOf(chain);
  let ahead = options.ahead ?? null;
  return {
    prepare(events) {
      if (ahead?.done) ahead = null;
      if (ahead === null && options.startAhead && events.length >= AHEAD_FROM_BATCH_EVENTS) ahead = options.startAhead(events);
      return ahead?.prepare(events);
    },
    apply(event: RecordedEvent) {
      const entry = ahead?.take(event, headOf) ?? storedEntry(event, fingerprints, headOf);
      const { chain } = entry;
      const result = insert.run(entry.columns);
      if (result.changes === 0) {
        heads.set(chain, headOf(chain));
        return;
      }
      insertText.run(result.lastInsertRowid, entry.canonical);
      heads.set(chain, entry.hash);
      for (const fingerprint of entry.fingerprints) insertFingerprint.run(chain, fingerprint, result.lastInsertRowid);
      if (event.type === 'AuditHeadSigned') {
        const data = event.data as AuditHeadSigned['data'];
        const { signedAt, kid } = signedHeadClaims(data.jws);
        insertSignedHead.run(event.id, data.tenantId, data.position, data.hash, data.entries, signedAt, kid, data.jws);
      }
    },
    endBatch() {
      if (options.forgetHeadsAfterBatch) heads.clear();
    },
    close() {
      ahead?.close();
      ahead = null;
    },
  };
}

/**
 * `signedAt` and `kid` as the signature states them. Only read here, not verified: the
 * event is in the log already, and whoever relies on a signed head verifies its JWS.
 */
function signedHeadClaims(jws: string): { signedAt: string; kid: string } {
  try {
    const [header, payload] = jws.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { signedAt?: unknown };
    const protectedHeader = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { kid?: unknown };
    return { signedAt: String(claims.signedAt ?? ''), kid: String(protectedHeader.kid ?? '') };
  } catch {
    return { signedAt: '', kid: '' };
  }
}
