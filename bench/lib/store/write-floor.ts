import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { openReadModelDatabase, REPLAY_CACHE_SIZE_KIB, withIndexBuildCache } from '../../../projections';
import type { Figure } from '../../types';
import { round } from '../stats';

/**
 * The least time SQLite alone takes to write a given set of read models, on this machine:
 * every row of a finished read-model database copied into a new database with the same
 * tables (`INSERT … SELECT`, no JavaScript per row), then every index built, then the
 * commit, in one transaction with the read models' pragmas and the caches a replay writes them
 * with: the replay's page cache, and the smaller one it builds indexes with.
 * Any replay that ends with those rows and indexes must at least write them, whatever it
 * computes besides; a replay's time beside this one says how much of it is the writing.
 */
export interface WriteFloor {
  seconds: number;
  /** Copying the rows into tables without secondary indexes. */
  rowsSeconds: number;
  /** Building every index after the rows are in. */
  indexSeconds: number;
  commitSeconds: number;
  /** Rows copied, over every table. */
  rows: number;
  /** Copying and indexing the audit history's tables (`audit_*`), part of rowsSeconds and indexSeconds. */
  auditSeconds: number;
}

const isAuditTable = (table: string) => table.startsWith('audit_');

function readThrough(path: string): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    while (readSync(fd, buffer, 0, buffer.length, null) > 0);
  } finally {
    closeSync(fd);
  }
}

interface SchemaObject {
  type: 'table' | 'index' | 'view';
  name: string;
  table: string;
  sql: string;
}

/** Times SQLite writing the read models of `sourcePath` again, into a new database under `workDir`. */
export function sqliteWriteFloor(sourcePath: string, workDir: string): WriteFloor {
  // Reading the source from disk is no part of writing: it is brought into the page cache first.
  readThrough(sourcePath);
  readThrough(`${sourcePath}-wal`);
  const db = openReadModelDatabase(join(workDir, 'write-floor', 'readmodels.db'));
  try {
    db.pragma(`cache_size = ${-REPLAY_CACHE_SIZE_KIB}`);
    db.prepare('ATTACH DATABASE ? AS source').run(sourcePath);
    // SQLite's own tables (sqlite_sequence) follow from the inserts; automatic indexes (primary keys) come with their tables.
    const schema = db
      .prepare<[], SchemaObject>(
        "SELECT type, name, tbl_name AS \"table\", sql FROM source.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
      )
      .all();
    // Opening created the checkpoints table; every other table, and every index and view, is created as the source has it.
    const opened = new Set(db.prepare<[], string>("SELECT name FROM main.sqlite_master WHERE type = 'table'").pluck().all());
    const of = (type: SchemaObject['type']) => schema.filter((object) => object.type === type);
    const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    db.exec('BEGIN IMMEDIATE');
    let rows = 0;
    let auditSeconds = 0;
    const timed = (object: SchemaObject, write: () => void) => {
      const before = elapsed();
      write();
      if (isAuditTable(object.table)) auditSeconds += elapsed() - before;
    };
    for (const table of of('table')) {
      timed(table, () => {
        if (!opened.has(table.name)) db.exec(table.sql);
        rows += db.prepare(`INSERT INTO main.${quoted(table.name)} SELECT * FROM source.${quoted(table.name)}`).run().changes;
      });
    }
    const rowsSeconds = elapsed();
    if (rows === 0) throw new Error(`${sourcePath} holds no read-model rows`);
    // Indexes are built as a replay builds them, with the page cache SQLite sorts their keys fastest with.
    withIndexBuildCache(db, () => {
      for (const index of of('index')) timed(index, () => db.exec(index.sql));
    });
    for (const view of of('view')) db.exec(view.sql);
    const indexSeconds = elapsed() - rowsSeconds;
    db.exec('COMMIT');
    const seconds = elapsed();
    return { seconds, rowsSeconds, indexSeconds, commitSeconds: seconds - rowsSeconds - indexSeconds, rows, auditSeconds };
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

/**
 * A replay's events/s beside the rate at which SQLite alone writes the read models that replay
 * produced: half of it is the target, since the replay must also read, parse and compute.
 */
export function writeFloorFigure(name: string, events: number, seconds: number, written: WriteFloor): Figure {
  return {
    name,
    value: events / seconds,
    unit: 'events/s',
    baseline: { name: 'SQLite alone: the same rows copied, indexed and committed', value: events / written.seconds },
    target: { kind: 'ratio-at-least', ratio: 0.5 },
    detail: {
      'replay s': round(seconds),
      'write floor s': round(written.seconds),
      'rows s': round(written.rowsSeconds),
      'indexes s': round(written.indexSeconds),
      'commit s': round(written.commitSeconds),
      'audit tables s': round(written.auditSeconds),
      rows: written.rows,
    },
  };
}
