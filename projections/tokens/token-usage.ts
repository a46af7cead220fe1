import type { Database, Statement } from 'better-sqlite3';

/**
 * When each token was last used. Not derived from events — recording every use as an event
 * would grow the log with every request — so it is not part of the `tokens` projection: a
 * rebuild neither drops nor reproduces it, and a lost write only makes `lastUsedAt` a few
 * seconds older than the truth.
 */
export class TokenUsageTable {
  private readonly upsert: Statement<[string, string]>;
  private readonly select: Statement<[string], { last_used_at: string }>;

  constructor(private readonly db: Database) {
    ensureTokenUsageTable(db);
    // ISO-8601 instants in one format order as text, so max() keeps the latest across processes.
    this.upsert = db.prepare(`
      INSERT INTO token_usage (token_id, last_used_at) VALUES (?, ?)
      ON CONFLICT (token_id) DO UPDATE SET last_used_at = max(last_used_at, excluded.last_used_at)`);
    this.select = db.prepare('SELECT last_used_at FROM token_usage WHERE token_id = ?');
  }

  /** Writes a batch in one transaction. */
  write(entries: Iterable<[tokenId: string, lastUsedAt: Date]>): void {
    this.db.transaction(() => {
      for (const [tokenId, at] of entries) this.upsert.run(tokenId, at.toISOString());
    })();
  }

  lastUsedAt(tokenId: string): Date | null {
    const row = this.select.get(tokenId);
    return row ? new Date(row.last_used_at) : null;
  }
}

export function ensureTokenUsageTable(db: Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS token_usage (
    token_id TEXT PRIMARY KEY,
    last_used_at TEXT NOT NULL
  ) WITHOUT ROWID`);
}
