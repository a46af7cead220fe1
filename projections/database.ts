import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type ReadModelDatabase = Database.Database;

/** Whether the database holds a table of this name (a replay's staging table, for instance). */
export function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/**
 * Opens the local read-model database. Several processes on one data directory may share
 * it: every projection transaction re-reads its checkpoint, so whichever process applies a
 * batch first wins and the other skips it.
 */
export function openReadModelDatabase(path: string, options: { readonly?: boolean } = {}): ReadModelDatabase {
  if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: options.readonly ?? false });
  db.pragma('busy_timeout = 10000');
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    // Read models can always be rebuilt from the log, so they need no fsync per commit.
    db.pragma('synchronous = NORMAL');
    db.exec(`CREATE TABLE IF NOT EXISTS projection_checkpoints (
      projection TEXT PRIMARY KEY,
      position TEXT,
      version INTEGER NOT NULL
    ) WITHOUT ROWID`);
  }
  return db;
}
