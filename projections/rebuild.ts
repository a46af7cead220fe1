import type { EventStore } from '../src/eventstore/port';
import type { ReadModelDatabase } from './database';
import type { Projection } from './projection';
import { ProjectionRunner, REPLAY_CACHE_SIZE_KIB, resetProjections, type ProjectionRunnerLogger } from './runner';

export interface RebuildResult {
  events: number;
  position: bigint | null;
  seconds: number;
}

/**
 * Drops every read model and replays the whole log into it, in one transaction: readers
 * (including running gateways) keep seeing the old rows until the new ones are complete,
 * and a failed rebuild leaves the old ones in place.
 */
export async function rebuildReadModels(
  store: EventStore,
  db: ReadModelDatabase,
  projections: readonly Projection[],
  logger?: ProjectionRunnerLogger,
): Promise<RebuildResult> {
  const started = process.hrtime.bigint();
  let events = 0;
  // The whole log goes into one transaction: a larger page cache keeps the indexes it grows out of the disk.
  const cacheSize = db.pragma('cache_size', { simple: true }) as number;
  db.pragma(`cache_size = ${-REPLAY_CACHE_SIZE_KIB}`);
  db.exec('BEGIN IMMEDIATE');
  try {
    resetProjections(db, projections);
    // Every checkpoint is reset, so the runner replays from empty: query-only indexes are built once, at the end.
    const runner = new ProjectionRunner(store, db, projections, logger);
    runner.onEvents((batch) => {
      events += batch.length;
    });
    runner.start();
    try {
      while (!(await runner.waitUntilCaughtUp(60_000))) {
        logger?.info({ events }, 'rebuilding read models');
      }
    } finally {
      await runner.stop();
    }
    for (const projection of projections) projection.migrate(db);
    db.exec('COMMIT');
    return { events, position: runner.appliedPosition, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  } finally {
    db.pragma(`cache_size = ${cacheSize}`);
  }
}
