import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface StoredDataKey {
  id: string;
  createdAt: Date;
}

/**
 * Where wrapped data keys live: outside the event log, so that destroying one makes the
 * ciphertext it protects unreadable for good while the log stays immutable. The port is
 * deliberately small — keys are opaque bytes, already wrapped by the master key — so any
 * store that can delete for real can hold them.
 */
export interface DataKeyStore {
  /** Stores a new key. Throws `DataKeyExistsError` if the id is taken: a key is never replaced. */
  put(id: string, wrappedKey: Buffer): Promise<void>;
  /** The wrapped key, or null when it never existed or was destroyed. */
  get(id: string): Promise<Buffer | null>;
  /** Deletes the key and overwrites its bytes. Destroying a missing key is not an error. */
  destroy(id: string): Promise<void>;
  /**
   * Replaces the wrapping of a key (master key rotation), only if it is still `expected`:
   * false when the key was destroyed or re-wrapped by someone else meanwhile.
   */
  replaceWrapping(id: string, expected: Buffer, wrappedKey: Buffer): Promise<boolean>;
  list(): Promise<StoredDataKey[]>;
  close(): Promise<void>;
}

export class DataKeyExistsError extends Error {
  constructor(readonly id: string) {
    super(`A data key with id ${id} already exists`);
    this.name = 'DataKeyExistsError';
  }
}

/** The owner's partition of a data key store; the integration-key secrets' when none is named. */
export function dataKeyTableName(table = 'data_keys'): string {
  // Used in SQL and in stream names, and `-` separates it from the key id in the latter.
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(table)) throw new RangeError(`Not a data key table name: ${table}`);
  return table;
}

/**
 * Data keys in a SQLite file (`keys.db` in the data directory), shared by the processes of
 * one machine. The file is its own database, not part of the read models: a rebuild must
 * never touch it, and a lost key cannot be derived again.
 *
 * - `secure_delete` zeroes a deleted key's bytes in the file instead of leaving them in a
 *   free page.
 * - The rollback journal (not WAL) means a deleted key's old page lives only in a journal
 *   file that is unlinked when the transaction commits, never in a WAL that waits for a
 *   checkpoint.
 * - `synchronous = FULL`: unlike read models, a key that is lost cannot be rebuilt.
 *
 * `table` gives each owner (token secrets, connection keys) a table of its own in the one
 * file, so that one owner's sweep of keys it does not recognise never reaches another's.
 */
export class SqliteDataKeyStore implements DataKeyStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, Buffer, string]>;
  private readonly select: Database.Statement<[string], { wrapped_key: Buffer }>;
  private readonly remove: Database.Statement<[string]>;
  private readonly all: Database.Statement<[], { id: string; created_at: string }>;
  private readonly swap: Database.Statement<[Buffer, string, Buffer]>;

  constructor(path: string, options: { table?: string } = {}) {
    const table = dataKeyTableName(options.table);
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('journal_mode = DELETE');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
      id TEXT PRIMARY KEY,
      wrapped_key BLOB NOT NULL,
      created_at TEXT NOT NULL
    ) WITHOUT ROWID`);
    this.insert = this.db.prepare(`INSERT INTO ${table} (id, wrapped_key, created_at) VALUES (?, ?, ?)`);
    this.select = this.db.prepare(`SELECT wrapped_key FROM ${table} WHERE id = ?`);
    this.remove = this.db.prepare(`DELETE FROM ${table} WHERE id = ?`);
    this.all = this.db.prepare(`SELECT id, created_at FROM ${table} ORDER BY created_at, id`);
    this.swap = this.db.prepare(`UPDATE ${table} SET wrapped_key = ? WHERE id = ? AND wrapped_key = ?`);
  }

  async put(id: string, wrappedKey: Buffer): Promise<void> {
    try {
      this.insert.run(id, wrappedKey, new Date().toISOString());
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new DataKeyExistsError(id);
      throw error;
    }
  }

  async get(id: string): Promise<Buffer | null> {
    return this.select.get(id)?.wrapped_key ?? null;
  }

  async destroy(id: string): Promise<void> {
    this.remove.run(id);
  }

  async replaceWrapping(id: string, expected: Buffer, wrappedKey: Buffer): Promise<boolean> {
    return this.swap.run(wrappedKey, id, expected).changes === 1;
  }

  async list(): Promise<StoredDataKey[]> {
    return this.all.all().map((row) => ({ id: row.id, createdAt: new Date(row.created_at) }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
