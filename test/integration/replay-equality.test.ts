import { join } from 'node:path';
import { dataset, rebuildFromLog, type Dataset } from '../../bench/lib/store/dataset';
import { openReadModelDatabase, prepareProjections, ProjectionRunner, readModelProjections, type ReadModelDatabase } from '../../projections';
import { openKeyRing } from '../../src/app/deployment-keys/open-key-ring';
import { systemClock } from '../../src/app/clock';
import { AuditFingerprinter } from '../../src/crypto/audit-fingerprint';
import { SqliteEventStore } from '../../src/eventstore/sqlite';
import { dumpReadModels } from '../helpers/read-models';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(600_000);

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** More events than one batch holds, so a replay applies several batches in its shared transaction. */
const EVENTS = 24_000;

function indexesOf(db: ReadModelDatabase): string[] {
  return db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all().map((row) => row.sql);
}

async function projectionsOf(data: Dataset, store: SqliteEventStore) {
  const keys = await openKeyRing(store, { current: Buffer.from(data.masterKey, 'base64'), previous: null }, { clock: systemClock, logger: QUIET });
  return readModelProjections(new AuditFingerprinter(keys.auditKey, keys.lookupPepper));
}

/** Per table, the row count or the first row where two dumps differ: short enough to read when they do. */
function differences(actual: Record<string, unknown[]>, expected: Record<string, unknown[]>): string[] {
  const found: string[] = [];
  for (const table of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
    const rows = actual[table] ?? [];
    const wanted = expected[table] ?? [];
    if (rows.length !== wanted.length) {
      found.push(`${table}: ${rows.length} rows, expected ${wanted.length}`);
      continue;
    }
    const at = rows.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify(wanted[i]));
    if (at >= 0) found.push(`${table} row ${at}: ${JSON.stringify(rows[at])}, expected ${JSON.stringify(wanted[at])}`);
  }
  return found;
}

/** Runs the projection runner over the whole log until it is caught up, as a gateway does, then stops it. */
async function catchUp(store: SqliteEventStore, db: ReadModelDatabase, data: Dataset): Promise<void> {
  const runner = new ProjectionRunner(store, db, await projectionsOf(data, store), QUIET);
  runner.start();
  try {
    while (!(await runner.waitUntilCaughtUp(60_000)));
  } finally {
    await runner.stop();
  }
}

describe('replaying a log of every event kind', () => {
  const temp = makeTempDir('keyledger-replay');
  afterAll(() => temp.remove());

  it('gives the same rows and indexes from a first replay, from a rebuild, and from batches applied one by one', async () => {
    const data = await dataset('mixed', EVENTS, { root: join(temp.path, 'cache') });
    const store = SqliteEventStore.open(data.eventsPath);
    try {
      // Batch by batch, as a running gateway applies what is appended: every index in place,
      // each batch in a transaction of its own. Checkpoints at position 0 (nothing applied yet,
      // yet not empty) keep the runner off the replay path.
      const incremental = join(temp.path, 'incremental');
      const live = openReadModelDatabase(join(incremental, 'readmodels.db'));
      prepareProjections(live, await projectionsOf(data, store));
      live.prepare('UPDATE projection_checkpoints SET position = ?').run('0');
      await catchUp(store, live, data);
      const liveIndexes = indexesOf(live);
      live.close();
      const expected = dumpReadModels(incremental);
      expect((expected.audit_entries as unknown[]).length).toBe(EVENTS + 1);
      expect((expected.tokens as unknown[]).length).toBeGreaterThan(1000);

      // A new replica's first start: no read models, a replay that defers query indexes and shares its transaction across batches.
      const replica = join(temp.path, 'replica');
      const fresh = openReadModelDatabase(join(replica, 'readmodels.db'));
      await catchUp(store, fresh, data);
      expect(indexesOf(fresh)).toEqual(liveIndexes);
      fresh.close();
      expect(differences(dumpReadModels(replica), expected)).toEqual([]);

      // `keyledger rebuild` over the read models built batch by batch: dropped and replayed in one transaction.
      const rebuilt = openReadModelDatabase(join(incremental, 'readmodels.db'));
      const result = await rebuildFromLog(data, store, rebuilt);
      expect(result.events).toBe(EVENTS + 1);
      expect(indexesOf(rebuilt)).toEqual(liveIndexes);
      rebuilt.close();
      expect(differences(dumpReadModels(incremental), expected)).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
