import type { SecretMatch, TokenQueries } from '../../../projections/tokens';
import { ReadModelCache } from './read-model-version';

export interface SecretLookupCacheOptions {
  /** The indexed read the cache stands in front of. */
  read: Pick<TokenQueries, 'bySecretHash'>;
  /** Changes whenever anything may have changed in the read models; see `ReadModelVersions.ofAll`. */
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
  private readonly cache: ReadModelCache<string, SecretMatch | null>;

  constructor(private readonly options: SecretLookupCacheOptions) {
    this.cache = new ReadModelCache(options.readModelVersion, options.maxEntries);
  }

  bySecretHash(secretHash: string): SecretMatch | null {
    const match = this.cache.get(secretHash, (hash) => this.options.read.bySecretHash(hash), (found) => found !== null);
    if (!match) return null;
    // Callers get their own record, as from a read: what one request does with it is not the next one's answer.
    return { secret: match.secret, record: { ...match.record, roles: [...match.record.roles] } };
  }
}
