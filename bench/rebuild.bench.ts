import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openReadModelDatabase, type ReadModelDatabase } from '../projections';
import { SqliteEventStore } from '../src/eventstore/sqlite';
import { round } from './lib/stats';
import { catchUpFromLog, dataset, offerReadModels, rebuildFromLog } from './lib/store/dataset';
import { sqliteWriteFloor, writeFloorFigure } from './lib/store/write-floor';
import type { Benchmark } from './types';

/*
 * Events/s of a full rebuild (`keyledger rebuild`: every read model dropped and replayed from
 * the log in one transaction) over a log of every event kind the gateway writes, beside the
 * floor measured in the same run: reading the same rows from SQLite and parsing their JSON,
 * without applying them. Beside it, the rebuild against what SQLite alone takes to write the
 * read models it produced (rows, indexes, commit; see write-floor.ts): the part of a replay
 * no code can remove, so the two ratios together tell the writing's share from the code's.
 * Last, a gateway's catch-up after downtime over the same log, against the same write floor:
 * read models that are not empty, brought up to date by the live handlers with every index
 * in place, as a restarted process or a replica back from a disconnection does it.
 */

interface Floor {
  events: number;
  seconds: number;
}

function readFloor(eventsPath: string): Floor {
  const db = new Database(eventsPath, { readonly: true });
  try {
    const rows = db
      .prepare<[], { position: bigint; id: string; stream_id: string; revision: bigint; type: string; recorded_at: bigint; data: string; metadata: string }>(
        'SELECT position, id, stream_id, revision, type, recorded_at, data, metadata FROM events ORDER BY position',
      )
      .safeIntegers(true);
    const started = process.hrtime.bigint();
    let events = 0;
    let checksum = 0;
    for (const row of rows.iterate()) {
      const data = JSON.parse(row.data) as Record<string, unknown>;
      const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
      checksum += Object.keys(data).length + Object.keys(metadata).length;
      events++;
    }
    if (checksum === 0 && events > 0) throw new Error('parsed events hold no fields');
    return { events, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } finally {
    db.close();
  }
}

/** Runs `build` on the log's store and the read models at `readModelsPath`, and closes both. */
async function withReadModels<T>(eventsPath: string, readModelsPath: string, build: (store: SqliteEventStore, db: ReadModelDatabase) => Promise<T>): Promise<T> {
  const store = SqliteEventStore.open(eventsPath);
  const db = openReadModelDatabase(readModelsPath);
  try {
    return await build(store, db);
  } finally {
    await store.close();
    db.close();
  }
}

export const rebuildBenchmark: Benchmark = {
  id: 'rebuild',
  title: 'Rebuild of every read model from the log, events/s, against reading and parsing the same events',
  async run({ quick, workDir }) {
    const data = await dataset('mixed', quick ? 100_000 : 1_000_000, { log: (line) => process.stderr.write(`  rebuild: ${line}\n`) });
    // A first pass brings the log into the page cache, so neither measurement pays for the disk alone.
    readFloor(data.eventsPath);

    const readModelsPath = join(workDir, 'readmodels.db');
    const result = await withReadModels(data.eventsPath, readModelsPath, (store, db) => rebuildFromLog(data, store, db));
    const floor = readFloor(data.eventsPath);
    if (result.events !== floor.events) throw new Error(`the rebuild applied ${result.events} events, the log holds ${floor.events}`);
    // The audit-log and memory benchmarks start gateways on exactly these read models.
    offerReadModels(data, readModelsPath);
    const written = sqliteWriteFloor(readModelsPath, workDir);

    const caughtUp = await withReadModels(data.eventsPath, join(workDir, 'catch-up.db'), (store, db) => catchUpFromLog(data, store, db));

    return [
      {
        name: `rebuild events/s (${result.readModels} read models, ${result.events} events)`,
        value: result.events / result.seconds,
        unit: 'events/s',
        baseline: { name: 'read + JSON.parse the same events', value: floor.events / floor.seconds },
        target: { kind: 'at-least', value: 100_000 },
        detail: { events: result.events, 'rebuild s': round(result.seconds), 'floor s': round(floor.seconds), 'write floor s': round(written.seconds) },
      },
      writeFloorFigure(`rebuild events/s against SQLite writing its read models (${result.events} events)`, result.events, result.seconds, written),
      writeFloorFigure(`catch-up events/s into read models that are not empty (${caughtUp.events} events)`, caughtUp.events, caughtUp.seconds, written),
    ];
  },
};
