import type { Verdict } from './types.js';

export interface CacheEntry {
  /** The verdict without any role check: roles are checked per request. */
  verdict: Verdict;
  /** When it was fetched from keyledger (ms since the epoch, verifier clock). */
  fetchedAt: number;
  /** Served no later than this. */
  until: number;
}

/**
 * Verdicts by a keyed hash of the credential, least recently used first, bounded in size,
 * and indexed by the ids a notice can name (token id or jti, and partner credential id).
 */
export class VerdictCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly byId = new Map<string, Set<string>>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Most recently used goes last, so eviction takes the first.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    this.delete(key);
    this.entries.set(key, entry);
    for (const id of idsOf(entry.verdict)) {
      let keys = this.byId.get(id);
      if (!keys) this.byId.set(id, (keys = new Set()));
      keys.add(key);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const id of idsOf(entry.verdict)) {
      const keys = this.byId.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.byId.delete(id);
    }
  }

  /** The keys of the verdicts about a token id, jti or partner credential id. */
  keysFor(id: string): string[] {
    return [...(this.byId.get(id) ?? [])];
  }

  peek(key: string): CacheEntry | undefined {
    return this.entries.get(key);
  }

  clear(): void {
    this.entries.clear();
    this.byId.clear();
  }
}

function idsOf(verdict: Verdict): string[] {
  const ids: string[] = [];
  if (verdict.tokenId) ids.push(verdict.tokenId);
  if (verdict.credentialId) ids.push(verdict.credentialId);
  return ids;
}
