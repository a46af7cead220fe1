import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { dataset, type Dataset } from '../../bench/lib/store/dataset';
import {
  openReadModelDatabase,
  prepareProjections,
  ProjectionRunner,
  readModelProjections,
  rebuildReadModels,
  type ProjectionRunnerLogger,
  type ProjectionRunnerOptions,
  type ReadModelDatabase,
} from '../../projections';
import { createTokensProjection } from '../../projections/tokens';
import { AuditFingerprinter } from '../../src/crypto/audit-fingerprint';
import { SqliteEventStore } from '../../src/eventstore/sqlite';
import { AUDIT_WORKER, auditWorkerSource, datasetKeys } from '../helpers/audit-worker';
import { dumpReadModels } from '../helpers/read-models';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(600_000);

const QUIET = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** More events than one batch holds, so a replay applies several batches in its shared transaction. */
const EVENTS = 24_000;

function indexesOf(db: ReadModelDatabase): string[] {
  return db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all().map((row) => row.sql);
}

/**
 * The gateway's read models. A replay from empty, or a catch-up's long batches, compute their
 * audit entries on the worker, from the log at `eventsPath` (with null, on their own thread);
 * what the worker's entries make the replay say is passed to `warn`.
 */
async function projectionsOf(data: Dataset, store: SqliteEventStore, eventsPath: string | null = data.eventsPath, warn: (message: string) => void = () => undefined) {
  const keys = await datasetKeys(data, store);
  return readModelProjections(new AuditFingerprinter(keys.auditKey, keys.lookupPepper), eventsPath === null ? undefined : auditWorkerSource(keys, eventsPath, warn));
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

/** Starts a runner, lets it catch up with the whole log, as a gateway does, then stops it. */
async function untilCaughtUp(runner: ProjectionRunner): Promise<void> {
  runner.start();
  try {
    while (!(await runner.waitUntilCaughtUp(60_000)));
  } finally {
    await runner.stop();
  }
}

async function catchUp(
  store: SqliteEventStore,
  db: ReadModelDatabase,
  data: Dataset,
  options?: ProjectionRunnerOptions,
  projections?: Awaited<ReturnType<typeof projectionsOf>>,
): Promise<void> {
  await untilCaughtUp(new ProjectionRunner(store, db, projections ?? (await projectionsOf(data, store)), QUIET, options));
}

/** Read models at `path` that have applied nothing yet, but not empty: checkpoints at position 0 keep the runner off the replay path. */
async function readModelsBehind(path: string, store: SqliteEventStore, data: Dataset): Promise<ReadModelDatabase> {
  const db = openReadModelDatabase(path);
  prepareProjections(db, await projectionsOf(data, store));
  db.prepare('UPDATE projection_checkpoints SET position = ?').run('0');
  return db;
}

/** A quiet logger that keeps what the runner says at info level. */
function noting(): { logger: ProjectionRunnerLogger; notes: Array<{ message: string; fields: object }>; messages(): string[] } {
  const notes: Array<{ message: string; fields: object }> = [];
  return {
    logger: { ...QUIET, info: (fields: object, message: string) => void notes.push({ message, fields }) },
    notes,
    messages: () => notes.map(({ message }) => message),
  };
}

describe('replaying a log of every event kind', () => {
  const temp = makeTempDir('keyledger-replay');
  afterAll(() => temp.remove());

  it('gives the same rows and indexes from a first replay, from a rebuild, from batches applied one by one or caught up after a restart in shared transactions (alone or beside another process), and from replays interrupted, joined by another process, bounded in memory, or of the read models an upgrade emptied', async () => {
    expect(existsSync(AUDIT_WORKER)).toBe(true);
    const data = await dataset('mixed', EVENTS, { root: join(temp.path, 'cache') });
    const store = SqliteEventStore.open(data.eventsPath);
    try {
      // Batch by batch, as a running gateway applies what is appended: every index in place,
      // each batch in a transaction of its own, every audit entry computed by the handler itself.
      const incremental = join(temp.path, 'incremental');
      const live = await readModelsBehind(join(incremental, 'readmodels.db'), store, data);
      await catchUp(store, live, data, { replayTransactionMs: 0 }, await projectionsOf(data, store, null));
      const liveIndexes = indexesOf(live);
      live.close();
      const expected = dumpReadModels(incremental);
      expect((expected.audit_entries as unknown[]).length).toBe(EVENTS + 1);
      expect((expected.tokens as unknown[]).length).toBeGreaterThan(1000);

      /** Closes `db` and requires the same indexes and rows as the batch-by-batch build, and no staging table left. */
      const expectSameAsIncremental = (db: ReadModelDatabase, dataDir: string) => {
        expect(stagingTables(db)).toEqual([]);
        expect(indexesOf(db)).toEqual(liveIndexes);
        db.close();
        expect(differences(dumpReadModels(dataDir), expected)).toEqual([]);
      };

      // A new replica's first start: no read models, a replay that defers query indexes and shares its transaction across batches.
      const replica = join(temp.path, 'replica');
      const fresh = openReadModelDatabase(join(replica, 'readmodels.db'));
      await catchUp(store, fresh, data);
      expectSameAsIncremental(fresh, replica);

      // A process restarted behind the log: read models that are not empty, caught up with
      // batches sharing one transaction until the feed is live, their audit entries computed on the worker.
      const warnings: string[] = [];
      const restarted = join(temp.path, 'restarted');
      const behind = await readModelsBehind(join(restarted, 'readmodels.db'), store, data);
      await catchUp(store, behind, data, undefined, await projectionsOf(data, store, data.eventsPath, (message) => warnings.push(message)));
      expectSameAsIncremental(behind, restarted);

      // The same from the middle of the log, where every chain has entries already: the worker
      // continues each from the head the read models hold, and no entry it sends is refused.
      // The first half is applied from a copy of the log that ends there.
      const firstHalfLog = join(temp.path, 'first-half-events.db');
      copyFileSync(data.eventsPath, firstHalfLog);
      const halving = new Database(firstHalfLog);
      halving.prepare('DELETE FROM events WHERE position > (SELECT position FROM events ORDER BY position LIMIT 1 OFFSET ?)').run(EVENTS / 2);
      halving.close();
      const middle = join(temp.path, 'middle');
      const fromMiddle = await readModelsBehind(join(middle, 'readmodels.db'), store, data);
      const firstHalf = SqliteEventStore.open(firstHalfLog);
      try {
        await catchUp(firstHalf, fromMiddle, data, undefined, await projectionsOf(data, firstHalf, null));
      } finally {
        await firstHalf.close();
      }
      expect(appliedAudit(fromMiddle)).toBe(EVENTS / 2 + 1);
      expect(chainsOf(fromMiddle)).toBeGreaterThan(1);
      // An upgrade of another read model meanwhile: it is replayed from the start of the log,
      // so the feed starts there, and the worker after the audit history's last entry.
      fromMiddle.prepare("UPDATE projection_checkpoints SET version = version - 1 WHERE projection = 'signing_keys'").run();
      await catchUp(store, fromMiddle, data, undefined, await projectionsOf(data, store, data.eventsPath, (message) => warnings.push(message)));
      expectSameAsIncremental(fromMiddle, middle);
      expect(warnings).toEqual([]);

      // Two processes catching up on the same read models at once: each sees the other's
      // commits and goes on batch by batch rather than hold the lock while the other waits.
      const together = join(temp.path, 'together');
      const oneDb = await readModelsBehind(join(together, 'readmodels.db'), store, data);
      const twoDb = openReadModelDatabase(join(together, 'readmodels.db'));
      // Both share this test's thread: a connection waiting for the lock would hold up the one
      // it waits for, so each gives up at once and its runner tries the batch again shortly.
      for (const db of [oneDb, twoDb]) db.pragma('busy_timeout = 50');
      const one = noting();
      const two = noting();
      // Both runners are made before either starts, so that they start together. Each commits
      // after every batch (transactions of 1 ms), so neither holds the lock while it waits for
      // its next batch: the two go batch for batch however fast a catch-up is, instead of one
      // catching up in a single transaction while the other waits.
      const runners = [
        new ProjectionRunner(store, oneDb, await projectionsOf(data, store), one.logger, { replayTransactionMs: 1 }),
        new ProjectionRunner(store, twoDb, await projectionsOf(data, store), two.logger, { replayTransactionMs: 1 }),
      ];
      await Promise.all(runners.map(untilCaughtUp));
      twoDb.close();
      expect([...one.messages(), ...two.messages()]).toContain('another process writes to the read models; catching up batch by batch while it does');
      expectSameAsIncremental(oneDb, together);

      // `keyledger rebuild` over the read models built batch by batch: dropped and replayed in one transaction.
      const rebuilt = openReadModelDatabase(join(incremental, 'readmodels.db'));
      const result = await rebuildReadModels(store, rebuilt, await projectionsOf(data, store), QUIET);
      expect(result.events).toBe(EVENTS + 1);
      expectSameAsIncremental(rebuilt, incremental);

      // An upgrade that changes two read models' versions: those two are dropped and replayed
      // through their replay handlers, while the others (kept) skip what they applied already.
      const upgraded = openReadModelDatabase(join(incremental, 'readmodels.db'));
      upgraded.prepare("UPDATE projection_checkpoints SET version = version - 1 WHERE projection IN ('tokens', 'audit')").run();
      const upgrade = noting();
      await untilCaughtUp(new ProjectionRunner(store, upgraded, await projectionsOf(data, store), upgrade.logger));
      expect(upgrade.notes).toContainEqual({ message: 'replaying the log into empty read models', fields: { projections: ['tokens', 'audit'] } });
      expectSameAsIncremental(upgraded, incremental);

      // A first replay stopped after its first batch leaves staging tables and missing
      // indexes; the next start completes them (`migrate`) and applies the rest batch by batch.
      const stopped = join(temp.path, 'stopped');
      const halfway = openReadModelDatabase(join(stopped, 'readmodels.db'));
      const first = new ProjectionRunner(store, halfway, await projectionsOf(data, store), QUIET, { replayTransactionMs: 0 });
      let stopping: Promise<void> | null = null;
      first.onEvents(() => {
        stopping ??= first.stop();
      });
      first.start();
      while (stopping === null) await new Promise((resolve) => setTimeout(resolve, 10));
      await stopping;
      expect(stagingTables(halfway).length).toBeGreaterThan(0);
      expect(appliedAudit(halfway)).toBeLessThan(EVENTS + 1);
      await catchUp(store, halfway, data);
      expectSameAsIncremental(halfway, stopped);

      // Another process starts on the same read models while a first replay is under way: it
      // completes what the replay has committed and applies the rest; the replaying process
      // sees that someone else wrote, and goes on with every index in place.
      const shared = join(temp.path, 'shared');
      const replaying = openReadModelDatabase(join(shared, 'readmodels.db'));
      const other = openReadModelDatabase(join(shared, 'readmodels.db'));
      const otherProjections = await projectionsOf(data, store);
      const replay = noting();
      const replayer = new ProjectionRunner(store, replaying, await projectionsOf(data, store), replay.logger, { replayTransactionMs: 0 });
      let second: ProjectionRunner | null = null;
      replayer.onEvents(() => {
        if (second) return;
        second = new ProjectionRunner(store, other, otherProjections, QUIET);
        second.start();
      });
      replayer.start();
      try {
        while (!(await replayer.waitUntilCaughtUp(60_000)));
        while (second === null) await new Promise((resolve) => setTimeout(resolve, 10));
        while (!(await (second as ProjectionRunner).waitUntilCaughtUp(60_000)));
      } finally {
        await replayer.stop();
        await (second as ProjectionRunner | null)?.stop();
      }
      expect(replay.messages()).toContain('read models written by another process; replaying with every index in place');
      other.close();
      expectSameAsIncremental(replaying, shared);

      // A replay that reaches its bound on tokens kept in memory builds the indexes there and goes on through them.
      const bounded = join(temp.path, 'bounded');
      const boundedDb = openReadModelDatabase(join(bounded, 'readmodels.db'));
      const bound = noting();
      const fewTokens = (await projectionsOf(data, store)).map((projection) =>
        projection.name === 'tokens' ? createTokensProjection({ replayTokensInMemory: 100 }) : projection,
      );
      await untilCaughtUp(new ProjectionRunner(store, boundedDb, fewTokens, bound.logger));
      expect(bound.messages()).toContain('replay holds as many rows in memory as it may; replaying on with every index in place');
      expectSameAsIncremental(boundedDb, bounded);

      // The worker reads another log than the replay (a copy of this one with a single event
      // changed, same id and position, or a log of other events, or none at all): the entries
      // that do not match are the replay's own work; those that do are the worker's.
      const changedLog = join(temp.path, 'changed-events.db');
      copyFileSync(data.eventsPath, changedLog);
      const changing = new Database(changedLog);
      const changedEvent = changing
        .prepare<[], { id: string }>("SELECT id FROM events WHERE type = 'TokenIssued' ORDER BY position LIMIT 1 OFFSET 100")
        .get()!;
      changing.prepare("UPDATE events SET metadata = json_set(metadata, '$.requestId', 'req-from-the-other-log') WHERE id = ?").run(changedEvent.id);
      changing.close();
      // So for a replay from empty and for a catch-up alike.
      for (const [name, open] of [
        ['replay-from-changed-log', (path: string) => Promise.resolve(openReadModelDatabase(path))],
        ['catch-up-from-changed-log', (path: string) => readModelsBehind(path, store, data)],
      ] as const) {
        const fromChanged = join(temp.path, name);
        const fromChangedDb = await open(join(fromChanged, 'readmodels.db'));
        await untilCaughtUp(new ProjectionRunner(store, fromChangedDb, await projectionsOf(data, store, changedLog), QUIET));
        fromChangedDb.close();
        // The changed entry's text and chain hash (and the hashes of its chain after it) came from
        // the worker; its row's other columns the replay reads from the event it applies.
        const taken = differences(dumpReadModels(fromChanged), expected);
        expect(taken.map((difference) => difference.split(' ')[0]).sort()).toEqual(['audit_entries', 'audit_entry_texts']);
        const rowsOf = (table: string) => {
          const [, row, actual, wanted] = /^[a-z_]+ row (\d+): (\{.*\}), expected (\{.*\})$/.exec(taken.find((difference) => difference.startsWith(`${table} `))!)!;
          return { row: Number(row), actual: JSON.parse(actual) as Record<string, unknown>, wanted: JSON.parse(wanted) as Record<string, unknown> };
        };
        const text = rowsOf('audit_entry_texts');
        expect(text.actual.entry).toContain('req-from-the-other-log');
        const entry = rowsOf('audit_entries');
        expect(entry.row).toBe(text.row);
        expect(entry.actual.hash).not.toBe(entry.wanted.hash);
        expect({ ...entry.actual, hash: entry.wanted.hash }).toEqual(entry.wanted);
      }

      const otherData = await dataset('tokens', 3_000, { root: join(temp.path, 'cache') });
      for (const [name, eventsPath] of [
        ['other-log', otherData.eventsPath],
        ['no-log', join(temp.path, 'missing', 'events.db')],
      ]) {
        const dir = join(temp.path, name);
        const db = openReadModelDatabase(join(dir, 'readmodels.db'));
        await untilCaughtUp(new ProjectionRunner(store, db, await projectionsOf(data, store, eventsPath), QUIET));
        expectSameAsIncremental(db, dir);
      }
    } finally {
      await store.close();
    }
  });
});

function stagingTables(db: ReadModelDatabase): string[] {
  return db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%_replay' ORDER BY name").all().map((row) => row.name);
}

function chainsOf(db: ReadModelDatabase): number {
  return db.prepare<[], { n: number }>('SELECT COUNT(DISTINCT chain) AS n FROM audit_entries').get()!.n;
}

function appliedAudit(db: ReadModelDatabase): number {
  return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM audit_entries').get()!.n;
}
