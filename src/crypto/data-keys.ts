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
  list(): Promise<StoredDataKey[]>;
  close(): Promise<void>;
}

export class DataKeyExistsError extends Error {
  constructor(readonly id: string) {
    super(`A data key with id ${id} already exists`);
    this.name = 'DataKeyExistsError';
  }
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
 */
export class SqliteDataKeyStore implements DataKeyStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, Buffer, string]>;
  private readonly select: Database.Statement<[string], { wrapped_key: Buffer }>;
  private readonly remove: Database.Statement<[string]>;
  private readonly all: Database.Statement<[], { id: string; created_at: string }>;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('journal_mode = DELETE');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('secure_delete = ON');
    this.db.exec(`CREATE TABLE IF NOT EXISTS data_keys (
      id TEXT PRIMARY KEY,
      wrapped_key BLOB NOT NULL,
      created_at TEXT NOT NULL
    ) WITHOUT ROWID`);
    this.insert = this.db.prepare('INSERT INTO data_keys (id, wrapped_key, created_at) VALUES (?, ?, ?)');
    this.select = this.db.prepare('SELECT wrapped_key FROM data_keys WHERE id = ?');
    this.remove = this.db.prepare('DELETE FROM data_keys WHERE id = ?');
    this.all = this.db.prepare('SELECT id, created_at FROM data_keys ORDER BY created_at, id');
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

  async list(): Promise<StoredDataKey[]> {
    return this.all.all().map((row) => ({ id: row.id, createdAt: new Date(row.created_at) }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
