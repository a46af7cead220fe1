import type { Database } from 'better-sqlite3';
import type { SecretMatch, TokenQueries } from '../../../projections/tokens';

export interface SecretLookupCacheOptions {
  /** The indexed read the cache stands in front of. */
  read: Pick<TokenQueries, 'bySecretHash'>;
  /** Changes whenever anything may have changed in the read models; see `readModelVersionOf`. */
  readModelVersion(): string;
  maxEntries?: number;
}

/**
 * What the read models held for a secret's lookup hash, per process, so that a token verified
 * again and again is read once rather than on every verification. The verdict is still made
 * on each call (status, expiry and grace against the clock, tenant and role rules): only the
 * row is kept, and only while the read models are unchanged. Any write to them, by this
 * process (its projections applying events, its usage flushes) or by another process on the
 * same data directory, empties the cache before the next lookup. Unknown hashes are not kept.
 * Keys are the stored lookup hashes themselves, so the cache holds nothing the database does not.
 */
export class SecretLookupCache {
  private readonly entries = new Map<string, SecretMatch>();
  private readonly maxEntries: number;
  private seenVersion: string | null = null;

  constructor(private readonly options: SecretLookupCacheOptions) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  bySecretHash(secretHash: string): SecretMatch | null {
    const version = this.options.readModelVersion();
    if (version !== this.seenVersion) {
      this.entries.clear();
      this.seenVersion = version;
    }
    let match = this.entries.get(secretHash) ?? null;
    if (!match) {
      match = this.options.read.bySecretHash(secretHash);
      if (!match) return null;
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      this.entries.set(secretHash, match);
    }
    // Callers get their own record, as from a read: what one request does with it is not the next one's answer.
    return { secret: match.secret, record: { ...match.record, roles: [...match.record.roles] } };
  }
}

/**
 * A read-model version for `SecretLookupCache`: the rows this connection has written (the
 * projections, the usage flushes) and SQLite's `data_version`, which changes whenever another
 * connection, in this process or another, commits.
 */
export function readModelVersionOf(db: Database): () => string {
  // Two statements rather than one over pragma_data_version(), which costs twice the pragma.
  const ownChanges = db.prepare('SELECT total_changes()').pluck();
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  return () => `${ownChanges.get() as number}:${dataVersion.get() as number}`;
}
