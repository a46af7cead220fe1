import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import {
  openReadModelDatabase,
  ProjectionRunner,
  REPLAY_AUTOCHECKPOINT_PAGES,
  REPLAY_CACHE_SIZE_KIB,
  type Projection,
  type ReadModelDatabase,
} from '../../projections';
import { SqliteEventStore } from '../../src/eventstore/sqlite';
import { startBackgroundCheckpoints, FALLBACK_AUTOCHECKPOINT_PAGES } from '../../src/sqlite/background-checkpoints';
import { makeTempDir } from '../helpers/temp-dir';

/** What the connection's pragmas were while each batch was applied. */
interface Seen {
  autocheckpoint: number;
  cacheSize: number;
}

/** A read model of one table that notes the connection's pragmas as it applies each batch. */
function notingProjection(seen: Seen[]): Projection {
  return {
    name: 'things',
    version: 1,
    eventTypes: ['ThingHappened'],
    migrate: (db: Database) => db.exec('CREATE TABLE IF NOT EXISTS things (id TEXT PRIMARY KEY)'),
    drop: (db: Database) => db.exec('DROP TABLE IF EXISTS things'),
    handler(db: Database) {
      const insert = db.prepare('INSERT OR IGNORE INTO things (id) VALUES (?)');
      return {
        apply: (event) => void insert.run(event.id),
        endBatch: () => void seen.push(pragmasOf(db)),
      };
    },
  };
}

async function appendThings(store: SqliteEventStore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const metadata = { actor: { type: 'system', id: 'test' }, requestId: randomUUID(), occurredAt: new Date().toISOString() } as never;
    await store.append(`thing-${randomUUID()}`, [{ id: randomUUID(), type: 'ThingHappened', data: {}, metadata }], 'no_stream');
  }
}

/** The connection's own values of the two pragmas. */
const pragmasOf = (db: ReadModelDatabase): Seen => ({
  autocheckpoint: db.pragma('wal_autocheckpoint', { simple: true }) as number,
  cacheSize: db.pragma('cache_size', { simple: true }) as number,
});

async function caughtUp(store: SqliteEventStore, db: ReadModelDatabase, seen: Seen[]): Promise<void> {
  const runner = new ProjectionRunner(store, db, [notingProjection(seen)]);
  runner.start();
  try {
    expect(await runner.waitUntilCaughtUp(20_000)).toBe(true);
  } finally {
    await runner.stop();
  }
}

describe("a replay's and a catch-up's pragmas", () => {
  it('raise the automatic checkpoint and the page cache while replaying or catching up, and give the connection its own back after', async () => {
    const temp = makeTempDir();
    const store = SqliteEventStore.open(join(temp.path, 'events.db'));
    const db = openReadModelDatabase(join(temp.path, 'readmodels.db'));
    const checkpoints = startBackgroundCheckpoints(db);
    try {
      const own = pragmasOf(db);
      expect(own.autocheckpoint).toBe(FALLBACK_AUTOCHECKPOINT_PAGES);
      const raised: Seen = { autocheckpoint: REPLAY_AUTOCHECKPOINT_PAGES, cacheSize: -REPLAY_CACHE_SIZE_KIB };
      // A replay from empty, then a catch-up into the read models it left, each over 50 new events.
      for (const phase of ['replay', 'catch-up']) {
        await appendThings(store, 50);
        const seen: Seen[] = [];
        await caughtUp(store, db, seen);
        expect({ phase, batches: seen.length > 0 }).toEqual({ phase, batches: true });
        for (const pragmas of seen) expect({ phase, ...pragmas }).toEqual({ phase, ...raised });
        expect({ phase, ...pragmasOf(db) }).toEqual({ phase, ...own });
      }
      expect(db.prepare('SELECT count(*) FROM things').pluck().get()).toBe(100);
    } finally {
      await checkpoints.stop();
      db.close();
      await store.close();
      temp.remove();
    }
  });
});
