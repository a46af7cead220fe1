import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionMessage,
} from '../port';
import { startBackgroundCheckpoints, type BackgroundCheckpoints } from '../../sqlite/background-checkpoints';

export interface SqliteEventStoreOptions {
  /**
   * `NORMAL` (default) survives a process crash or SIGKILL in WAL mode; `FULL` also survives
   * power loss, at the price of an fsync per commit.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How often subscriptions check for appends made by other connections (other processes). Default 20 ms. */
  pollIntervalMs?: number;
  /** How long a writer waits for the file lock held by another connection. Default 5000 ms. */
  busyTimeoutMs?: number;
}

/** Bumped whenever the on-disk schema changes; `migrate` upgrades older files step by step. */
export const SQLITE_EVENT_STORE_SCHEMA_VERSION = 1;

export const MAX_STREAM_ID_LENGTH = 512;

const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_POLL_INTERVAL_MS = 20;
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/*
 * Each event type gets its own index range scan in a UNION ALL, so a filtered page costs
 * O(types × page) whatever the log size. Beyond this many types the statement would be
 * unwieldy, and the single IN-list query is used instead.
 */
const MAX_TYPES_PER_UNION = 32;

/*
 * `type` sits before the JSON columns so that filtering by type never has to read a large
 * payload's overflow pages. `recorded_at` is epoch milliseconds.
 */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS events (
  position    INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT    NOT NULL UNIQUE,
  stream_id   TEXT    NOT NULL,
  revision    INTEGER NOT NULL,
  type        TEXT    NOT NULL,
  recorded_at INTEGER NOT NULL,
  data        TEXT    NOT NULL,
  metadata    TEXT    NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TABLE IF NOT EXISTS streams (
  stream_id TEXT    PRIMARY KEY,
  revision  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_type_position ON events (type, position);
`;

const EVENT_COLUMNS = 'position, id, stream_id, revision, type, recorded_at, data, metadata';

/** A row of EVENT_COLUMNS, read as an array: no object with named keys per row for a replay to build and collect. */
type EventRow = [position: bigint, id: string, streamId: string, revision: bigint, type: string, recordedAt: bigint, data: string, metadata: string];

type Statement<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

/** `SELECT EVENT_COLUMNS FROM events <rest>`, reading each row as an EventRow (positions and revisions as bigints), as decodeRow expects. */
function selectEvents<P extends unknown[]>(db: Database.Database, rest: string): Statement<P, EventRow> {
  return db.prepare<P, EventRow>(`SELECT ${EVENT_COLUMNS} FROM events ${rest}`).safeIntegers(true).raw(true);
}

/** A page of the log after a position, in position order. */
const PAGE_AFTER = 'WHERE position > ? ORDER BY position LIMIT ?';

interface SubscriptionHost {
  release(subscription: SqliteSubscription): void;
}

type PageReader = (after: bigint | null, limit: number) => RecordedEvent[];

/** An append waiting for the next group commit, serialised already. */
interface PendingAppend {
  streamId: string;
  events: readonly NewEvent[];
  dataJson: string[];
  metadataJson: string[];
  expected: ExpectedRevision;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

type AppendOutcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

function decodeRow(row: EventRow): RecordedEvent {
  return recordedEvent(row[1], row[4], row[2], Number(row[3]), row[0], row[6], row[7], Number(row[5]));
}

/** An event as subscriptions and reads deliver it, from the columns it is stored in. */
function recordedEvent(
  id: string,
  type: string,
  streamId: string,
  revision: number,
  position: bigint,
  dataJson: string,
  metadataJson: string,
  recordedAt: number,
): RecordedEvent {
  return {
    id,
    type,
    streamId,
    revision,
    position,
    data: JSON.parse(dataJson) as Record<string, unknown>,
    metadata: JSON.parse(metadataJson) as RecordedEvent['metadata'],
    recordedAt: new Date(recordedAt),
  };
}

/** The events a committed append wrote, as a read of them would return them. */
function appendedEvents(append: PendingAppend, result: AppendResult, recordedAt: number, into: RecordedEvent[]): void {
  const count = append.events.length;
  for (let i = 0; i < count; i++) {
    const back = count - 1 - i;
    into.push(
      recordedEvent(
        append.events[i]!.id,
        append.events[i]!.type,
        append.streamId,
        result.nextExpectedRevision - back,
        result.position - BigInt(back),
        append.dataJson[i]!,
        append.metadataJson[i]!,
        recordedAt,
      ),
    );
  }
}

/*
 * Duck-typed rather than `instanceof Database.SqliteError`: the native addon binds its error
 * class once per process, so a second copy of the JS module (jest gives every test file its
 * own module registry) receives errors built from the first copy's class.
 */
function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Failures that mean "the storage refused", as opposed to a bug or bad input. */
function isUnavailable(error: unknown): boolean {
  const code = sqliteCode(error);
  if (code === undefined) return false;
  return /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|PROTOCOL|NOMEM)/.test(code);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/*
 * Some lock acquisitions (changing the journal mode, WAL recovery on a file another process is
 * opening at the same moment) report SQLITE_BUSY without going through the busy handler, so
 * opening retries them itself for as long as the busy timeout allows.
 */
function retryWhileBusy<T>(timeoutMs: number, fn: () => T): T {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      sleepSync(Math.min(5 + attempt * 5, 100));
    }
  }
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

function requireNonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

function validateStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new RangeError(`Stream id must be a non-empty string of at most ${MAX_STREAM_ID_LENGTH} characters`);
  }
}

function validateExpectedRevision(expected: ExpectedRevision): void {
  if (expected === 'no_stream' || expected === 'stream_exists' || expected === 'any') return;
  if (typeof expected !== 'number' || !Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(`Invalid expected revision: ${String(expected)}`);
  }
}

/**
 * The embedded event store: one SQLite file in WAL mode, shareable by several processes on
 * one machine. Appends are serialised by SQLite's write lock (`BEGIN IMMEDIATE`), so the
 * expected-revision check and the insert are one atomic step even across processes.
 *
 * Group commit: appends made during one turn of the event loop are written by one
 * transaction, each inside a savepoint of its own, and all of them are resolved after the
 * single COMMIT. An append whose check or insert fails is rolled back to its savepoint and
 * rejected alone; the others still commit. Nothing is acknowledged before the COMMIT, so the
 * durability of `synchronous` is that of a lone append, and subscriptions are woken once per
 * group, which lets the projections apply the whole group in one transaction as well.
 *
 * Subscriptions report `caughtUp` with the position of the last event they delivered (or the
 * position they started from), which for a type-filtered subscription may be below the head.
 */
/**
 * Reads a SQLite log in position order, on a read-only connection of its own, and decodes each
 * event exactly as the store's reads and subscriptions deliver it: for work done beside the
 * store, on another thread, that must see the very events the store delivers.
 */
export class SqliteLogReader {
  private readonly selectPage: Statement<[bigint, number], EventRow>;

  static open(filePath: string): SqliteLogReader {
    return new SqliteLogReader(new Database(filePath, { readonly: true, fileMustExist: true }));
  }

  private constructor(private readonly db: Database.Database) {
    this.selectPage = selectEvents(db, PAGE_AFTER);
  }

  /** Up to `limit` events after `after` (null: from the start of the log), in position order. */
  page(after: bigint | null, limit: number): RecordedEvent[] {
    return this.selectPage.all(after ?? 0n, limit).map(decodeRow);
  }

  close(): void {
    this.db.close();
  }
}

export class SqliteEventStore implements EventStore {
  readonly name = 'sqlite';

  private closed = false;
  private readonly subscriptions = new Set<SqliteSubscription>();
  private pollTimer: NodeJS.Timeout | null = null;
  private lastDataVersion = 0;

  private readonly selectStreamRevision: Statement<[string], number>;
  private readonly insertEvent: Statement<[string, string, number, string, number, string, string]>;
  private readonly insertStream: Statement<[string, number]>;
  private readonly updateStream: Statement<[number, string]>;
  private readonly selectEventStream: Statement<[string], string>;
  private readonly selectStream: Statement<[string, number, number], EventRow>;
  private readonly selectWholeStream: Statement<[string, number], EventRow>;
  private readonly selectPage: Statement<[bigint, number], EventRow>;
  private readonly selectPageByTypeList: Statement<[bigint, string, number], EventRow>;
  private readonly selectHead: Statement<[], bigint | null>;
  private readonly selectDataVersion: Statement<[], number>;
  private readonly pageByTypeCount = new Map<number, Statement<[Record<string, unknown>], EventRow>>();
  private pending: PendingAppend[] = [];
  private flushScheduled = false;
  private readonly appendOne: Database.Transaction<(append: PendingAppend, recordedAt: number) => AppendResult>;
  private readonly appendGroup: (group: readonly PendingAppend[], outcomes: AppendOutcome[], recordedAt: number) => void;

  static open(filePath: string, options: SqliteEventStoreOptions = {}): SqliteEventStore {
    const synchronous = options.synchronous ?? 'NORMAL';
    if (synchronous !== 'NORMAL' && synchronous !== 'FULL') throw new RangeError(`Unsupported synchronous mode: ${String(synchronous)}`);
    const pollIntervalMs = requirePositiveInteger('pollIntervalMs', options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    const busyTimeoutMs = requireNonNegativeInteger('busyTimeoutMs', options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);

    const inMemory = filePath === ':memory:';
    if (!inMemory) fs.mkdirSync(path.dirname(path.resolve(filePath)), { recursive: true });

    const db = new Database(filePath, { timeout: busyTimeoutMs });
    try {
      const mode = retryWhileBusy(busyTimeoutMs, () => db.pragma('journal_mode = WAL', { simple: true }));
      if (!inMemory && String(mode).toLowerCase() !== 'wal') {
        throw new EventStoreError(`Could not switch ${filePath} to WAL journal mode (got ${String(mode)})`);
      }
      db.pragma(`synchronous = ${synchronous}`);
      retryWhileBusy(busyTimeoutMs, () => migrate(db, filePath));
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteEventStore(db, pollIntervalMs, startBackgroundCheckpoints(db));
  }

  private constructor(
    private readonly db: Database.Database,
    private readonly pollIntervalMs: number,
    private readonly checkpoints: BackgroundCheckpoints,
  ) {
    this.selectStreamRevision = db.prepare<[string], number>('SELECT revision FROM streams WHERE stream_id = ?').pluck();
    this.insertEvent = db.prepare(
      'INSERT INTO events (id, stream_id, revision, type, recorded_at, data, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    // Only the append result needs the rowid, and it must come back as a bigint.
    this.insertEvent.safeIntegers(true);
    this.insertStream = db.prepare('INSERT INTO streams (stream_id, revision) VALUES (?, ?)');
    this.updateStream = db.prepare('UPDATE streams SET revision = ? WHERE stream_id = ?');
    this.selectEventStream = db.prepare<[string], string>('SELECT stream_id FROM events WHERE id = ?').pluck();
    this.selectStream = selectEvents(db, 'WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ?');
    // Every command loads its stream whole; a bound LIMIT makes that lookup several times slower.
    this.selectWholeStream = selectEvents(db, 'WHERE stream_id = ? AND revision >= ? ORDER BY revision');
    this.selectPage = selectEvents(db, PAGE_AFTER);
    this.selectPageByTypeList = selectEvents(db, 'WHERE position > ? AND type IN (SELECT value FROM json_each(?)) ORDER BY position LIMIT ?');
    this.selectHead = db.prepare<[], bigint | null>('SELECT max(position) FROM events').pluck().safeIntegers(true);
    this.selectDataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();

    const write = ({ streamId, events, dataJson, metadataJson, expected }: PendingAppend, recordedAt: number): AppendResult => {
      const current = this.selectStreamRevision.get(streamId);
      if (expected !== 'any') {
        const ok =
          expected === 'no_stream' ? current === undefined : expected === 'stream_exists' ? current !== undefined : current === expected;
        if (!ok) throw new WrongExpectedRevisionError(streamId, expected, current ?? 'no_stream');
      }
      let revision = current ?? -1;
      let position = 0n;
      for (let i = 0; i < events.length; i++) {
        revision++;
        position = this.insertEvent.run(events[i]!.id, streamId, revision, events[i]!.type, recordedAt, dataJson[i]!, metadataJson[i]!)
          .lastInsertRowid as bigint;
      }
      if (events.length === 1) {
        // The one insert either wrote the event or, failing, nothing (SQLite undoes a failed
        // statement); a failure past it would leave the event without its stream's revision,
        // so it ends the whole group's transaction instead of this append alone.
        try {
          this.writeStreamRevision(streamId, current, revision);
        } catch (error) {
          throw new GroupAborted(error);
        }
      } else this.writeStreamRevision(streamId, current, revision);
      return { nextExpectedRevision: revision, position };
    };
    this.appendOne = db.transaction(write);

    /*
     * Called inside the group's transaction. An append of several events runs in a savepoint
     * of its own (`appendOne`), so that a failure part-way undoes it alone. A single event
     * needs none (see `write`): a savepoint costs two statements and a copy of every page the
     * append touches that an earlier append of the group wrote, which for appends to the same
     * table and indexes is most of them.
     */
    this.appendGroup = db.transaction((group: readonly PendingAppend[], outcomes: AppendOutcome[], recordedAt: number): void => {
      for (let i = 0; i < group.length; i++) {
        const append = group[i]!;
        try {
          outcomes[i] = { ok: true, result: append.events.length === 1 ? write(append, recordedAt) : this.appendOne(append, recordedAt) };
        } catch (error) {
          if (error instanceof GroupAborted) throw error.reason;
          // An I/O error can make SQLite roll back the whole transaction: then nothing of the group stands.
          if (!this.db.inTransaction) throw error;
          outcomes[i] = { ok: false, error };
        }
      }
    }).immediate;
  }

  private writeStreamRevision(streamId: string, current: number | undefined, revision: number): void {
    if (current === undefined) this.insertStream.run(streamId, revision);
    else this.updateStream.run(revision, streamId);
  }

  /** Open subscriptions, for metrics and leak checks. */
  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** The log's file, or null for a store in memory. */
  get filePath(): string | null {
    return this.db.memory ? null : this.db.name;
  }

  async append(streamId: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    this.assertOpen();
    validateStreamId(streamId);
    validateExpectedRevision(expectedRevision);
    if (!Array.isArray(events) || events.length === 0) throw new RangeError('append needs at least one event');

    // Serialised before BEGIN IMMEDIATE so the write lock is held only for the inserts.
    const dataJson = new Array<string>(events.length);
    const metadataJson = new Array<string>(events.length);
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      if (typeof event.id !== 'string' || event.id.length === 0) throw new RangeError(`Event ${i} has no id`);
      if (typeof event.type !== 'string' || event.type.length === 0) throw new RangeError(`Event ${i} has no type`);
      const data = JSON.stringify(event.data);
      const metadata = JSON.stringify(event.metadata);
      if (typeof data !== 'string' || typeof metadata !== 'string') {
        throw new TypeError(`Event ${i} (${event.id}) has data or metadata that is not JSON-serialisable`);
      }
      dataJson[i] = data;
      metadataJson[i] = metadata;
    }

    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ streamId, events, dataJson, metadataJson, expected: expectedRevision, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // After the I/O callbacks of this loop turn, so every request that reached its append in it joins the group.
        setImmediate(this.flush);
      }
    });
  }

  /** Writes every pending append in one transaction and settles each after the COMMIT. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const group = this.pending;
    if (group.length === 0) return;
    this.pending = [];
    if (this.closed) {
      for (const append of group) append.reject(new EventStoreUnavailableError('The SQLite event store is closed'));
      return;
    }
    const recordedAt = Date.now();
    const outcomes = new Array<AppendOutcome>(group.length);
    try {
      if (group.length === 1) outcomes[0] = { ok: true, result: this.appendOne.immediate(group[0]!, recordedAt) };
      else this.appendGroup(group, outcomes, recordedAt);
    } catch (error) {
      if (group.length === 1) {
        group[0]!.reject(this.translateAppendError(error, group[0]!.streamId, group[0]!.events));
        return;
      }
      // BEGIN or COMMIT failed: no append of the group was written.
      for (const append of group) append.reject(this.translateAppendError(error, append.streamId, append.events));
      return;
    }
    if (this.subscriptions.size > 0) this.notifySubscriptions(group, outcomes, recordedAt);
    for (let i = 0; i < group.length; i++) {
      const outcome = outcomes[i]!;
      if (outcome.ok) group[i]!.resolve(outcome.result);
      else group[i]!.reject(this.translateAppendError(outcome.error, group[i]!.streamId, group[i]!.events));
    }
  };

  /*
   * A subscription to every event is handed what the group wrote (its own copy), so that it
   * need not read back and decode the events it is about to deliver; it still reads the
   * database whenever they do not follow on from the last event it delivered. A subscription
   * to some types is woken if the group wrote one of them.
   */
  private notifySubscriptions(group: readonly PendingAppend[], outcomes: readonly AppendOutcome[], recordedAt: number): void {
    const appendedTypes = new Set<string>();
    for (let i = 0; i < group.length; i++) if (outcomes[i]!.ok) for (const event of group[i]!.events) appendedTypes.add(event.type);
    if (appendedTypes.size === 0) return;
    for (const subscription of this.subscriptions) {
      if (!subscription.takesAppends) {
        subscription.wakeFor(appendedTypes);
        continue;
      }
      const events: RecordedEvent[] = [];
      for (let i = 0; i < group.length; i++) {
        const outcome = outcomes[i]!;
        if (outcome.ok) appendedEvents(group[i]!, outcome.result, recordedAt, events);
      }
      subscription.offer(events);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    this.assertOpen();
    validateStreamId(streamId);
    const fromRevision = requireNonNegativeInteger('fromRevision', options.fromRevision ?? 0);
    const maxCount = options.maxCount === undefined ? -1 : requireNonNegativeInteger('maxCount', options.maxCount);
    if (maxCount === 0) return [];
    if (maxCount === -1) return this.selectWholeStream.all(streamId, fromRevision).map(decodeRow);
    return this.selectStream.all(streamId, fromRevision, maxCount).map(decodeRow);
  }

  subscribe(options: SubscribeOptions = {}): EventSubscription {
    this.assertOpen();
    const from = options.fromPosition ?? null;
    if (from !== null && (typeof from !== 'bigint' || from < 0n)) {
      throw new RangeError(`fromPosition must be a non-negative bigint or null, got ${String(from)}`);
    }
    const pageSize = requirePositiveInteger('maxBatchSize', options.maxBatchSize ?? DEFAULT_PAGE_SIZE);
    const reader = options.eventTypes === undefined ? this.readAll : this.typeFilteredReader(options.eventTypes);

    const types = options.eventTypes === undefined ? null : new Set(options.eventTypes);
    const subscription = new SqliteSubscription(this.host, reader, types, from, pageSize);
    if (this.subscriptions.size === 0) this.startPolling();
    this.subscriptions.add(subscription);
    return subscription;
  }

  async headPosition(): Promise<bigint | null> {
    this.assertOpen();
    return this.selectHead.get() ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Appends already accepted are written, not dropped.
    this.flush();
    this.closed = true;
    for (const subscription of [...this.subscriptions]) subscription.end();
    this.stopPolling();
    await this.checkpoints.stop();
    this.db.close();
  }

  private readonly host: SubscriptionHost = {
    release: (subscription) => {
      if (this.subscriptions.delete(subscription) && this.subscriptions.size === 0) this.stopPolling();
    },
  };

  private readonly readAll: PageReader = (after, limit) => {
    return this.selectPage.all(after ?? 0n, limit).map(decodeRow);
  };

  private typeFilteredReader(eventTypes: readonly string[]): PageReader {
    const types = [...new Set(eventTypes)];
    if (types.some((type) => typeof type !== 'string')) throw new TypeError('eventTypes must be strings');
    if (types.length === 0) return () => [];
    if (types.length > MAX_TYPES_PER_UNION) {
      const typesJson = JSON.stringify(types);
      return (after, limit) => this.selectPageByTypeList.all(after ?? 0n, typesJson, limit).map(decodeRow);
    }
    const statement = this.pageByTypeStatement(types.length);
    const params: Record<string, unknown> = {};
    types.forEach((type, i) => (params[`t${i}`] = type));
    return (after, limit) => {
      params.after = after ?? 0n;
      params.limit = limit;
      return statement.all(params).map(decodeRow);
    };
  }

  /*
   * Each type's branch is a bounded range scan of the covering (type, position) index, the
   * branches are merged in position order, and only the winning page's rows are fetched.
   * Neither a rowid scan (reads every non-matching row) nor `type IN (...)` with a sort (reads
   * every matching row after the cursor on each page) stays cheap for both rare and common types.
   */
  private pageByTypeStatement(typeCount: number): Statement<[Record<string, unknown>], EventRow> {
    let statement = this.pageByTypeCount.get(typeCount);
    if (!statement) {
      const branches = Array.from(
        { length: typeCount },
        (_, i) =>
          `SELECT position FROM (SELECT position FROM events WHERE type = @t${i} AND position > @after ORDER BY position LIMIT @limit)`,
      );
      statement = selectEvents<[Record<string, unknown>]>(
        this.db,
        `WHERE position IN (${branches.join(' UNION ALL ')} ORDER BY 1 LIMIT @limit) ORDER BY position`,
      );
      this.pageByTypeCount.set(typeCount, statement);
    }
    return statement;
  }

  /*
   * Appends through this instance wake subscriptions directly; `data_version` changes only when
   * another connection (another process, or another store instance) commits, which is exactly
   * what the direct wake-up cannot see.
   */
  private startPolling(): void {
    this.lastDataVersion = this.selectDataVersion.get() ?? 0;
    this.pollTimer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  private poll(): void {
    if (this.closed || this.subscriptions.size === 0) return;
    let changed: boolean;
    try {
      const version = this.selectDataVersion.get() ?? 0;
      changed = version !== this.lastDataVersion;
      this.lastDataVersion = version;
    } catch {
      // Let the subscriptions read: if the database is really broken, their read throws to the consumer.
      changed = true;
    }
    if (changed) for (const subscription of this.subscriptions) subscription.wake();
  }

  private translateAppendError(error: unknown, streamId: string, events: readonly NewEvent[]): unknown {
    if (error instanceof EventStoreError) return error;
    const code = sqliteCode(error);
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' && /events\.id/.test((error as Error).message)) {
      return new EventStoreError(`Duplicate event id in append to stream "${streamId}": ${this.describeDuplicates(events)}`, {
        cause: error,
      });
    }
    if (isUnavailable(error)) {
      return new EventStoreUnavailableError(`SQLite event store refused the append to "${streamId}": ${(error as Error).message}`, {
        cause: error,
      });
    }
    return error;
  }

  private describeDuplicates(events: readonly NewEvent[]): string {
    const seen = new Set<string>();
    const found: string[] = [];
    for (const { id } of events) {
      if (seen.has(id)) found.push(`${id} (twice in the batch)`);
      seen.add(id);
      try {
        const existing = this.selectEventStream.get(id);
        if (existing !== undefined) found.push(`${id} (already in stream "${existing}")`);
      } catch {
        // The description is best effort; the append has failed either way.
      }
    }
    return found.length > 0 ? found.join(', ') : 'an id in the batch already exists';
  }

  private assertOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('The SQLite event store is closed');
  }
}

function migrate(db: Database.Database, filePath: string): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SQLITE_EVENT_STORE_SCHEMA_VERSION) {
      throw new EventStoreError(
        `${filePath} has event store schema version ${version}, newer than this build supports (${SQLITE_EVENT_STORE_SCHEMA_VERSION})`,
      );
    }
    if (version < 1) {
      db.exec(SCHEMA_V1);
      db.pragma(`user_version = ${SQLITE_EVENT_STORE_SCHEMA_VERSION}`);
    }
  }).immediate();
}

/** Thrown out of a group's transaction to roll all of it back, carrying the error that made it necessary. */
class GroupAborted extends Error {
  constructor(readonly reason: unknown) {
    super('append group aborted');
  }
}

class SqliteSubscription implements EventSubscription {
  private closed = false;
  /* Set by every wake-up and cleared just before a read, so an append that lands while the
   * consumer holds a batch is never missed. */
  private signalled = true;
  private resume: (() => void) | null = null;
  private readonly generator: AsyncGenerator<SubscriptionMessage, void, undefined>;
  /** Events this store instance appended since the last delivery (see `offer`), or null once more than a page was offered. */
  private offered: RecordedEvent[] | null = [];

  constructor(
    private readonly host: SubscriptionHost,
    private readonly readPage: PageReader,
    /** The event types it delivers, or null for all of them. */
    private readonly types: ReadonlySet<string> | null,
    from: bigint | null,
    private readonly pageSize: number,
  ) {
    this.generator = this.run(from);
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    const generator = this.generator;
    return {
      next: () => generator.next(),
      // Ending first unblocks a pending next(); an async generator would otherwise queue return() behind it.
      return: async (value?: unknown) => {
        this.end();
        await generator.return(undefined);
        return { done: true, value };
      },
    };
  }

  async close(): Promise<void> {
    this.end();
  }

  /*
   * Woken by an append of this store instance. A subscription to other types would only read
   * an empty page: every append that can hold its types wakes it, whether made here (with
   * them among `appendedTypes`) or by another connection (through the poll), and it reads
   * from the last event it delivered, so nothing it skips here is skipped for good.
   */
  wakeFor(appendedTypes: ReadonlySet<string>): void {
    if (this.types !== null) {
      let relevant = false;
      for (const type of appendedTypes) {
        if (this.types.has(type)) {
          relevant = true;
          break;
        }
      }
      if (!relevant) return;
    }
    this.wake();
  }

  /** Whether appends of this store instance are handed to it (`offer`): only to a subscription to every event. */
  get takesAppends(): boolean {
    return this.types === null;
  }

  /** Events this store instance has just committed, in position order; wakes the subscription. */
  offer(events: readonly RecordedEvent[]): void {
    if (this.offered !== null) {
      if (this.offered.length + events.length > this.pageSize) this.offered = null;
      else for (const event of events) this.offered.push(event);
    }
    this.wake();
  }

  /*
   * What was offered, if it follows on from `last` without a gap: then it is exactly what a
   * read from `last` would return, unless another connection committed after it, which the
   * poll's wake-up reads next. Otherwise (another connection committed in between, more than
   * a page was offered, or nothing has been delivered yet) the database is read. Either way
   * the offered events are dropped, as the read returns them too.
   */
  private takeOffered(last: bigint | null): RecordedEvent[] | null {
    const offered = this.offered;
    this.offered = [];
    if (offered === null || offered.length === 0 || last === null || offered[0]!.position !== last + 1n) return null;
    for (let i = 1; i < offered.length; i++) if (offered[i]!.position !== offered[i - 1]!.position + 1n) return null;
    return offered;
  }

  wake(): void {
    this.signalled = true;
    const resume = this.resume;
    if (resume) {
      this.resume = null;
      resume();
    }
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.release(this);
    this.wake();
  }

  private async *run(from: bigint | null): AsyncGenerator<SubscriptionMessage, void, undefined> {
    let last = from;
    let caughtUp = false;
    try {
      while (!this.closed) {
        this.signalled = false;
        const events = this.takeOffered(last) ?? this.readPage(last, this.pageSize);
        if (events.length > 0) {
          last = events[events.length - 1]!.position;
          yield { type: 'events', events };
          if (events.length === this.pageSize) continue;
        }
        if (this.closed) break;
        if (!caughtUp) {
          caughtUp = true;
          yield { type: 'caughtUp', position: last };
        }
        if (!this.signalled && !this.closed) {
          await new Promise<void>((resolve) => (this.resume = resolve));
        }
      }
    } finally {
      this.end();
    }
  }
}
