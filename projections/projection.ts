import type { Database } from 'better-sqlite3';
import type { RecordedEvent } from '../src/eventstore/port';

/** Applies events to one read model. Runs inside the runner's transaction. */
export interface ProjectionHandler {
  /**
   * Apply one event. Must be idempotent: the runner skips events at or below the
   * checkpoint, but a handler must still give the same rows if it sees an event twice.
   */
  apply(event: RecordedEvent): void;
  /**
   * Called with each batch before it is applied (outside its transaction, unless the batch
   * shares one with earlier batches): a handler whose work for the batch is done elsewhere (on
   * another thread) starts it or waits for it here. Returning nothing lets the batch be
   * applied at once.
   */
  prepare?(events: readonly RecordedEvent[]): Promise<void> | void;
  /**
   * Called after each batch, still inside the runner's transaction, whether the batch was
   * applied or failed. A handler may keep what it read from its tables (a chain head, a hot
   * row) in memory while a batch is applied, since the runner holds the write lock
   * meanwhile; here it forgets it, because another process sharing the database may write
   * between two batches, and a failed batch is rolled back.
   */
  endBatch?(): void;
  /**
   * A replay handler that keeps rows in memory says, after a batch, when that memory has
   * reached its bound: the runner then completes the read models (`migrate`) and applies
   * the rest of the log through `handler`.
   */
  full?(): boolean;
  /**
   * Called once the runner no longer uses the handler (a replay handler when its replay ends,
   * every handler when the runner stops): it releases what it holds beyond the database (a thread).
   */
  close?(): void;
}

/** One read model: its tables, the events it reads, and how it applies them. */
export interface Projection {
  readonly name: string;
  /** Bump when the tables or the handler change: the runner then rebuilds this read model from the log. */
  readonly version: number;
  readonly eventTypes: readonly string[];
  /** Create the read model's tables if missing. */
  migrate(db: Database): void;
  /**
   * Indexes `migrate` creates that a replay from an empty read model (a full rebuild, a new
   * replica's first catch-up) does without: `handler` never reads them, or `replayHandler`
   * does the replay without them. The replay drops them and has `migrate` create them again
   * once it has caught up with the log: building an index once from the finished table is
   * far cheaper than growing it an entry at a time, at a random place each time.
   */
  readonly indexesBuiltAfterReplay?: readonly string[];
  /** Drop the read model's tables. */
  drop(db: Database): void;
  /** Prepare statements once per database connection. */
  handler(db: Database): ProjectionHandler;
  /**
   * A handler for a replay into empty read models (a rebuild, a new replica's first start,
   * or a read model an upgrade emptied), when replaying differs from applying: the runner
   * creates it inside the transaction that found the read model empty (it had applied
   * nothing) and dropped its `indexesBuiltAfterReplay`, and uses it only
   * while no other connection writes to the database (it checks before each of its
   * transactions, and otherwise calls `migrate` and goes on with `handler`). So it may keep
   * what it has written in memory across batches (a row's rowid by its key, a chain head)
   * instead of reading it back through an index, and write rows into staging tables of its
   * own without indexes. `migrate` must fold a staging table into the read model and drop
   * it: the runner calls `migrate` when the replay ends, and so does every process that
   * opens the database after a replay was stopped or killed half-way.
   */
  replayHandler?(db: Database): ProjectionHandler;
}
