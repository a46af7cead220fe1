import type { Statement } from 'better-sqlite3';
import { formatPosition, parsePosition, type EventStore, type EventSubscription, type RecordedEvent } from '../src/eventstore/port';
import type { ReadModelDatabase } from './database';
import type { Projection, ProjectionHandler } from './projection';

export interface ProjectionRunnerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Called after a batch is committed to the read models, in log order. Must not throw. */
export type EventListener = (events: readonly RecordedEvent[]) => void;

interface Waiter {
  position: bigint;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

interface Bound {
  projection: Projection;
  handler: ProjectionHandler;
  /** What applies the next batch: `handler`, or the projection's replay handler during a replay from empty. */
  active: ProjectionHandler;
  types: ReadonlySet<string>;
}

const SQLITE_BUSY_RETRY_MS = 50;

/*
 * Events per delivered batch, hence per read-model transaction. Live batches are whatever
 * has been appended since the last one; during a catch-up this bounds the transactions. A
 * batch's decoded events live until it is applied, so it is kept small enough to die young:
 * at 10,000 a replay's batch outgrew V8's young generation, and a million-event replay spent
 * 3.2-3.4 s of its thread in young-generation collections copying batches (1.3-1.4 s at
 * 2,000), with a peak resident size about 150 MiB higher.
 */
const MAX_BATCH_SIZE = 2_000;

/**
 * Page cache while replaying into empty read models or catching up with a backlog, in KiB
 * (SQLite's negative form). Both insert random keys (token ids, secret hashes, event ids) into
 * every unique index; once an index outgrows the default 2 MiB cache, each insert reads and
 * rewrites pages from disk, and a transaction shared by several batches spills its dirty pages
 * to the WAL again and again. The connection's own size is restored once caught up.
 */
export const REPLAY_CACHE_SIZE_KIB = 256 * 1024;

/**
 * The connection's automatic checkpoint while it replays or catches up, in pages (1 GiB of
 * 4 KiB pages). Each commit of a replay writes tens of thousands of pages (the batches of up
 * to REPLAY_TRANSACTION_MS), far past the connection's own threshold (the background
 * checkpoint worker's fallback of 10,000 pages, or SQLite's 1,000), so each ended by copying
 * the whole WAL into the database file itself, on the event loop: 1.6-1.9 s of each commit of
 * a million-event replay, and 3.9 s of the last, against 0.5-0.9 s with the worker left to do
 * it. Past this size the connection still checkpoints itself after a commit, so the WAL stays
 * bounded should the worker stop or lag.
 */
export const REPLAY_AUTOCHECKPOINT_PAGES = 262_144;

/**
 * Page cache while the indexes a replay left out are built and its staging tables folded into
 * their read models, in KiB. SQLite sorts the keys of a CREATE INDEX (and of an INSERT … SELECT
 * … ORDER BY) in runs as large as the page cache, then merges the runs. With the replay's
 * 256 MiB, an index of a million rows is one run, sorted as one list in memory: building the
 * 17 deferred indexes of a committed million-event log (the `tokens` benchmark dataset) took
 * 22.3-23.2 s, against 17.8-18.3 s in runs of 8 MiB. The pages the replay dirtied and the new
 * index pages go to the WAL as the cache fills instead of at the commit; each is still written
 * once (staging tables aside, which are dropped), since building an index or folding a staging
 * table only reads the pages the replay wrote.
 */
export const INDEX_BUILD_CACHE_SIZE_KIB = 8 * 1024;

/**
 * Runs `build` (index builds, staging folds) with the page cache at INDEX_BUILD_CACHE_SIZE_KIB
 * if it is larger, and sets it back after.
 */
export function withIndexBuildCache<T>(db: ReadModelDatabase, build: () => T): T {
  const current = db.pragma('cache_size', { simple: true }) as number;
  if (cacheKiB(db, current) <= INDEX_BUILD_CACHE_SIZE_KIB) return build();
  db.pragma(`cache_size = ${-INDEX_BUILD_CACHE_SIZE_KIB}`);
  try {
    return build();
  } finally {
    if (db.open) db.pragma(`cache_size = ${current}`);
  }
}

/** A `cache_size` value in KiB: negative is KiB already, positive is pages. */
function cacheKiB(db: ReadModelDatabase, cacheSize: number): number {
  return cacheSize < 0 ? -cacheSize : (cacheSize * (db.pragma('page_size', { simple: true }) as number)) / 1024;
}

/**
 * While replaying into empty read models, consecutive batches share one transaction for up to
 * this long. A commit writes every page its transaction dirtied, and a replay's inserts of
 * random keys (token ids, secret hashes, event ids, fingerprints) dirty pages all over their
 * indexes, so committing each batch would write those indexes out again and again as they
 * grow (and checkpoint them into the database file each time). Half the read-model
 * database's busy_timeout, so that another process sharing it still gets the lock in time.
 */
export const REPLAY_TRANSACTION_MS = 5_000;

/**
 * While catching up with a backlog into read models that are not empty (a restart after
 * downtime, a replica back from a disconnection), consecutive batches share one transaction
 * for up to this long, for the same reason (see `REPLAY_TRANSACTION_MS`). Shorter than a
 * replay's: a process on the same data directory may be live meanwhile, and its mutations
 * wait for their read models (KEYLEDGER_READ_YOUR_WRITES_TIMEOUT_MS, 5 s by default) while
 * this one holds the lock. Once another process has committed, the catch-up commits batch
 * by batch for as long as it keeps doing so.
 */
export const CATCH_UP_TRANSACTION_MS = 2_000;

export interface ProjectionRunnerOptions {
  /**
   * How long replay and catch-up batches share a transaction (defaults REPLAY_TRANSACTION_MS
   * and CATCH_UP_TRANSACTION_MS); 0 commits every batch.
   */
  replayTransactionMs?: number;
}

/**
 * Feeds every projection from the event store. One subscription per process, from the
 * lowest checkpoint; each batch is applied to all projections and their checkpoints in one
 * transaction, then handed to live listeners (read-your-writes waiters, subscriptions).
 */
export class ProjectionRunner {
  private readonly bound: Bound[];
  private readonly readCheckpoint: Statement<[string], { position: string | null }>;
  private readonly writeCheckpoint: Statement<[string | null, number, string]>;
  private readonly dataVersion: Statement<[], number>;
  private readonly listeners = new Set<EventListener>();
  private readonly waiters = new Set<Waiter>();
  private subscription: EventSubscription | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;
  private caughtUp = false;
  private applied: bigint | null = null;
  private lastCaughtUpAt: number | null = null;
  private failure: Error | null = null;
  /**
   * Replaying the log into read models that were empty when the runner started (every one,
   * or those an upgrade emptied): their deferred indexes are built once caught up.
   */
  private replayingFromEmpty = false;
  /** The connection's cache_size before a replay or catch-up raised it, to restore once caught up. */
  private cacheSizeBeforeReplay: number | null = null;
  /** The connection's wal_autocheckpoint before a replay or catch-up raised it, to restore once caught up. */
  private autocheckpointBeforeReplay: number | null = null;
  /** When the runner opened the transaction its replay or catch-up batches share (see REPLAY_TRANSACTION_MS), or null. */
  private sharedTransactionSince: number | null = null;
  /** `PRAGMA data_version` when the catch-up last opened a transaction, or null: another process's commits change it. */
  private catchUpDataVersion: number | null = null;
  /** Whether this catch-up has said that another process writes meanwhile (once per catch-up). */
  private catchUpYieldNoted = false;
  /**
   * `PRAGMA data_version` when the replay from empty began: it changes when another
   * connection commits, and replay handlers rely on nobody else writing meanwhile.
   */
  private replayDataVersion: number | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly db: ReadModelDatabase,
    projections: readonly Projection[],
    private readonly logger?: ProjectionRunnerLogger,
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    prepareProjections(db, projections, logger);
    this.bound = projections.map((projection) => {
      const handler = projection.handler(db);
      return { projection, handler, active: handler, types: new Set(projection.eventTypes) };
    });
    this.readCheckpoint = db.prepare('SELECT position FROM projection_checkpoints WHERE projection = ?');
    this.writeCheckpoint = db.prepare('UPDATE projection_checkpoints SET position = ?, version = ? WHERE projection = ?');
    this.dataVersion = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** True once the feed has caught up with the log and is live. */
  get isCaughtUp(): boolean {
    return this.caughtUp && this.failure === null;
  }

  /** Highest log position applied to every read model by this process, or null before any. */
  get appliedPosition(): bigint | null {
    return this.applied;
  }

  /** Seconds since the runner was last caught up; 0 while it is. */
  lagSeconds(now = Date.now()): number {
    if (this.isCaughtUp) return 0;
    return this.lastCaughtUpAt === null ? Number.POSITIVE_INFINITY : (now - this.lastCaughtUpAt) / 1000;
  }

  start(): void {
    if (this.loop) throw new Error('The projection runner is already running');
    // Decided under the write lock: another process may be applying the log to the same read models.
    const from = this.db
      .transaction(() => {
        // Read models that have applied nothing: all of them on a first start or a rebuild, a
        // few after an upgrade changed their version (prepareProjections emptied them).
        const empty = this.bound.filter(({ projection }) => this.readCheckpoint.get(projection.name)?.position == null);
        if (empty.length === 0) return this.lowestCheckpoint();
        this.logger?.info({ projections: empty.map(({ projection }) => projection.name) }, 'replaying the log into empty read models');
        this.replayingFromEmpty = true;
        for (const bound of empty) {
          for (const index of bound.projection.indexesBuiltAfterReplay ?? []) this.db.exec(`DROP INDEX IF EXISTS "${index}"`);
          bound.active = bound.projection.replayHandler?.(this.db) ?? bound.handler;
        }
        return null;
      })
      .immediate();
    this.applied = from;
    if (this.replayingFromEmpty) {
      this.replayDataVersion = this.dataVersion.get()!;
      this.raiseForReplay();
    }
    this.subscription = this.store.subscribe({ fromPosition: from, maxBatchSize: MAX_BATCH_SIZE });
    this.loop = this.consume(this.subscription).catch((error: Error) => {
      this.failure = error;
      // The failed batch may be half applied in it: the next start replays from the last commit.
      this.rollBackSharedTransaction();
      this.closeHandlers();
      this.logger?.error({ err: error }, 'projection feed failed');
      this.settleAllWaiters(false);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.close();
    await this.loop;
    this.closeHandlers();
    this.commitSharedTransaction();
    this.restoreAfterReplay();
    this.settleAllWaiters(false);
  }

  /** The replay's page cache and automatic checkpoint, for a replay from empty or a catch-up. */
  private raiseForReplay(): void {
    const checkpointPages = this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
    // 0 is off: nothing to raise. A threshold already this high (raised by an earlier call) is kept.
    if (checkpointPages > 0 && checkpointPages < REPLAY_AUTOCHECKPOINT_PAGES) {
      this.autocheckpointBeforeReplay = checkpointPages;
      this.db.pragma(`wal_autocheckpoint = ${REPLAY_AUTOCHECKPOINT_PAGES}`);
    }
    const current = this.db.pragma('cache_size', { simple: true }) as number;
    // A size already this large is kept.
    if (cacheKiB(this.db, current) >= REPLAY_CACHE_SIZE_KIB) return;
    this.cacheSizeBeforeReplay = current;
    this.db.pragma(`cache_size = ${-REPLAY_CACHE_SIZE_KIB}`);
  }

  /**
   * Gives the connection its own page cache and automatic checkpoint back, after the replay's
   * or catch-up's last commit. True if the cache was the replay's until now.
   */
  private restoreAfterReplay(): boolean {
    if (!this.db.open) return false;
    if (this.autocheckpointBeforeReplay !== null) {
      this.db.pragma(`wal_autocheckpoint = ${this.autocheckpointBeforeReplay}`);
      this.autocheckpointBeforeReplay = null;
    }
    if (this.cacheSizeBeforeReplay === null) return false;
    this.db.pragma(`cache_size = ${this.cacheSizeBeforeReplay}`);
    this.cacheSizeBeforeReplay = null;
    return true;
  }

  /**
   * Resolves true once the runner is caught up with the log, false if it is not within
   * `timeoutMs` or the runner was stopped; rejects if the feed failed.
   */
  async waitUntilCaughtUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.isCaughtUp && !this.stopped && this.failure === null && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (this.failure) throw this.failure;
    return this.isCaughtUp;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Resolves true once every read model holds the event at `position` (read-your-writes),
   * false if that did not happen within `timeoutMs`.
   */
  waitForPosition(position: bigint, timeoutMs: number): Promise<boolean> {
    if (this.applied !== null && this.applied >= position) return Promise.resolve(true);
    if (this.stopped || this.failure) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        position,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Registers a listener for committed batches; returns a function that removes it. */
  onEvents(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async consume(subscription: EventSubscription): Promise<void> {
    for await (const message of subscription) {
      if (this.stopped) break;
      switch (message.type) {
        case 'events':
          await this.applyBatch(message.events);
          // A catch-up's pages follow one another without a wait: the event loop gets a turn
          // between its batches, so the process answers its probes and goes on with its other
          // work (another runner's batches, a worker's messages) while it catches up.
          if (!this.caughtUp) await new Promise((resolve) => setImmediate(resolve));
          break;
        case 'caughtUp':
          if (this.replayingFromEmpty) await this.buildReplayIndexes();
          this.endCatchUp();
          if (this.restoreAfterReplay()) this.db.pragma('shrink_memory');
          if (!this.caughtUp) this.logger?.info({ position: this.applied?.toString() ?? null }, 'projections caught up');
          this.caughtUp = true;
          this.lastCaughtUpAt = Date.now();
          break;
        case 'disconnected':
          if (!this.replayingFromEmpty) this.endCatchUp();
          if (this.caughtUp) this.lastCaughtUpAt = Date.now();
          this.caughtUp = false;
          this.logger?.warn({ err: message.error }, 'event feed disconnected; reconnecting');
          break;
      }
    }
  }

  private async applyBatch(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (const { active } of this.bound) {
      // Awaited only when there is something to wait for: a live batch takes no extra turn.
      const preparing = active.prepare?.(events);
      if (preparing) await preparing;
    }
    for (;;) {
      try {
        this.openSharedTransaction();
        this.applyInTransaction(events);
        break;
      } catch (error) {
        // Another process holding the shared read-model database (for example a rebuild)
        // can keep it locked past busy_timeout; the batch is simply tried again.
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || this.stopped) throw error;
        this.logger?.warn({}, 'read-model database busy; retrying batch');
        await new Promise((resolve) => setTimeout(resolve, SQLITE_BUSY_RETRY_MS));
      }
    }
    if (this.replayingFromEmpty && this.bound.some(({ active }) => active.full?.() === true)) {
      this.logger?.info({ position: events[events.length - 1].position.toString() }, 'replay holds as many rows in memory as it may; replaying on with every index in place');
      this.finishReplay();
    }
    if (this.sharedTransactionSince !== null && Date.now() - this.sharedTransactionSince >= this.sharedTransactionMs()) {
      this.commitSharedTransaction();
    }
    // Listeners run before a shared replay transaction commits; whatever they read in this
    // process goes through this connection, which sees the batch already.
    const last = events[events.length - 1].position;
    if (this.applied === null || last > this.applied) this.applied = last;
    for (const waiter of this.waiters) {
      if (waiter.position <= last) {
        clearTimeout(waiter.timer);
        this.waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch (error) {
        this.logger?.error({ err: error }, 'event listener failed');
      }
    }
  }

  /**
   * Starts the transaction the next batches share, unless the caller (a rebuild) holds one on
   * this connection already: during a replay from empty, and during a catch-up, until the
   * feed says it has caught up (or disconnects). Live batches commit one by one.
   */
  private openSharedTransaction(): void {
    if (this.db.inTransaction) return;
    if (!this.replayingFromEmpty) {
      if (this.caughtUp || this.sharedTransactionMs() <= 0) return;
      const dataVersion = this.dataVersion.get()!;
      const othersWrote = this.catchUpDataVersion !== null && dataVersion !== this.catchUpDataVersion;
      this.catchUpDataVersion = dataVersion;
      if (othersWrote) {
        if (!this.catchUpYieldNoted) this.logger?.info({ position: this.applied?.toString() ?? null }, 'another process writes to the read models; catching up batch by batch while it does');
        this.catchUpYieldNoted = true;
        return;
      }
      // A catch-up touches index pages all over, as a replay does: the same cache, until caught up.
      this.raiseForReplay();
    }
    this.db.exec('BEGIN IMMEDIATE');
    this.sharedTransactionSince = Date.now();
    if (this.replayingFromEmpty && this.dataVersion.get() !== this.replayDataVersion) {
      // Another process wrote to the read models since the replay began (it applied batches,
      // or finished a replay of its own): what the replay handlers keep in memory may no
      // longer be so. The read models are completed and indexed as they stand, in this
      // transaction, and applied batch by batch from here on.
      this.logger?.info({ position: this.applied?.toString() ?? null }, 'read models written by another process; replaying with every index in place');
      this.finishReplay();
    }
  }

  /**
   * Ends a replay from empty: sends every later batch through `handler`, creates what the
   * replay left out (`migrate` folds staging tables and creates missing indexes) and commits
   * its transaction. The indexes are built with a small page cache, with which SQLite sorts
   * their keys faster (see INDEX_BUILD_CACHE_SIZE_KIB); then the cache goes back to the
   * replay's size for the commit, and after it to the connection's own size, SQLite freeing
   * what it held beyond it.
   */
  private finishReplay(): void {
    this.closeReplayHandlers();
    withIndexBuildCache(this.db, () =>
      this.db.transaction(() => {
        for (const { projection } of this.bound) projection.migrate(this.db);
      }).immediate(),
    );
    this.replayingFromEmpty = false;
    this.replayDataVersion = null;
    this.commitSharedTransaction();
    if (this.restoreAfterReplay()) this.db.pragma('shrink_memory');
  }

  /** Lets every handler go, once the runner applies no more batches. */
  private closeHandlers(): void {
    this.closeReplayHandlers();
    for (const { handler } of this.bound) handler.close?.();
  }

  /** Sends every later batch through `handler`, and lets the replay handlers go. */
  private closeReplayHandlers(): void {
    for (const bound of this.bound) {
      if (bound.active === bound.handler) continue;
      bound.active.close?.();
      bound.active = bound.handler;
    }
  }

  /** Commits a catch-up's shared transaction and forgets what it saw of other processes: the next catch-up starts afresh. */
  private endCatchUp(): void {
    this.commitSharedTransaction();
    this.catchUpDataVersion = null;
    this.catchUpYieldNoted = false;
  }

  private sharedTransactionMs(): number {
    return this.options.replayTransactionMs ?? (this.replayingFromEmpty ? REPLAY_TRANSACTION_MS : CATCH_UP_TRANSACTION_MS);
  }

  private rollBackSharedTransaction(): void {
    if (this.sharedTransactionSince === null) return;
    this.sharedTransactionSince = null;
    if (this.db.open && this.db.inTransaction) this.db.exec('ROLLBACK');
  }

  private commitSharedTransaction(): void {
    if (this.sharedTransactionSince === null) return;
    this.sharedTransactionSince = null;
    if (!this.db.open || !this.db.inTransaction) return;
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Creates the indexes a replay from empty left out (`migrate` creates whatever is missing). */
  private async buildReplayIndexes(): Promise<void> {
    for (;;) {
      try {
        this.finishReplay();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || this.stopped) throw error;
        await new Promise((resolve) => setTimeout(resolve, SQLITE_BUSY_RETRY_MS));
      }
    }
  }

  /*
   * Inside a transaction spanning batches (a replay's, or the caller's during a rebuild), a
   * batch is applied without a savepoint of its own: a savepoint makes SQLite copy every page
   * the batch touches that an earlier batch of the transaction wrote, so that it could roll
   * back to it, and a replay touches the same index pages batch after batch. A failure there
   * fails the whole transaction, which its owner rolls back.
   */
  private readonly applyInTransaction = (events: readonly RecordedEvent[]) => {
    if (this.db.inTransaction) this.applyEvents(events);
    else this.applyEventsInTransaction(events);
  };

  private readonly applyEvents = (events: readonly RecordedEvent[]) => {
    const last = events[events.length - 1].position;
    for (const { projection, active: handler, types } of this.bound) {
      const row = this.readCheckpoint.get(projection.name);
      const checkpoint = row?.position == null ? null : parsePosition(row.position);
      if (checkpoint !== null && checkpoint >= last) continue;
      try {
        for (const event of events) {
          if (checkpoint !== null && event.position <= checkpoint) continue;
          if (types.has(event.type)) handler.apply(event);
        }
      } finally {
        // Also when the batch fails: its transaction is rolled back, and what the handler kept from it with it.
        handler.endBatch?.();
      }
      this.writeCheckpoint.run(formatPosition(last), projection.version, projection.name);
    }
  };

  private readonly applyEventsInTransaction = (events: readonly RecordedEvent[]) => this.db.transaction(this.applyEvents).immediate(events);

  private lowestCheckpoint(): bigint | null {
    let lowest: bigint | undefined;
    for (const { projection } of this.bound) {
      const row = this.readCheckpoint.get(projection.name);
      const position = row?.position == null ? null : parsePosition(row.position);
      if (position === null) return null;
      if (lowest === undefined || position < lowest) lowest = position;
    }
    return lowest ?? null;
  }

  private settleAllWaiters(reached: boolean): void {
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(reached);
    }
    this.waiters.clear();
  }
}

/**
 * Creates missing tables and checkpoint rows. A projection whose stored version differs
 * from its code is dropped and replayed from the start of the log.
 */
export function prepareProjections(
  db: ReadModelDatabase,
  projections: readonly Projection[],
  logger?: ProjectionRunnerLogger,
): void {
  const read = db.prepare<[string], { version: number }>('SELECT version FROM projection_checkpoints WHERE projection = ?');
  db.transaction(() => {
    for (const projection of projections) {
      const row = read.get(projection.name);
      if (row && row.version !== projection.version) {
        logger?.info({ projection: projection.name, from: row.version, to: projection.version }, 'projection version changed; rebuilding it');
        projection.drop(db);
        db.prepare('DELETE FROM projection_checkpoints WHERE projection = ?').run(projection.name);
      }
      projection.migrate(db);
      db.prepare('INSERT OR IGNORE INTO projection_checkpoints (projection, position, version) VALUES (?, NULL, ?)').run(
        projection.name,
        projection.version,
      );
    }
  }).immediate();
}

/** Drops every read model and resets its checkpoint, inside the caller's transaction. */
export function resetProjections(db: ReadModelDatabase, projections: readonly Projection[]): void {
  for (const projection of projections) {
    projection.drop(db);
    projection.migrate(db);
    db.prepare(
      'INSERT INTO projection_checkpoints (projection, position, version) VALUES (?, NULL, ?) ' +
        'ON CONFLICT (projection) DO UPDATE SET position = NULL, version = excluded.version',
    ).run(projection.name, projection.version);
  }
}
