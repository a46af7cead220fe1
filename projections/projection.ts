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
   * Called after each batch, still inside the runner's transaction, whether the batch was
   * applied or failed. A handler may keep what it read from its tables (a chain head, a hot
   * row) in memory while a batch is applied, since the runner holds the write lock
   * meanwhile; here it forgets it, because another process sharing the database may write
   * between two batches, and a failed batch is rolled back.
   */
  endBatch?(): void;
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
   * Indexes `migrate` creates that the handler never reads while applying events. A replay
   * from an empty read model (a full rebuild, a new replica's first catch-up) drops them and
   * has `migrate` create them again once it has caught up with the log: building an index
   * once from the finished table is far cheaper than growing it an entry at a time.
   */
  readonly indexesBuiltAfterReplay?: readonly string[];
  /** Drop the read model's tables. */
  drop(db: Database): void;
  /** Prepare statements once per database connection. */
  handler(db: Database): ProjectionHandler;
}
