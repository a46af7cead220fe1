import type { Verdict } from './types.js';

export interface CacheEntry {
  /** The verdict without any role check: roles are checked per request. */
  verdict: Verdict;
  /** When it was fetched from keyledger (ms since the epoch, verifier clock). */
  fetchedAt: number;
  /** Served no later than this. */
  until: number;
  /** Every role the verdict's roles amount to (keyledger's roles imply others), worked out once. */
  held: ReadonlySet<string>;
  /** Set by each `get`; cleared when eviction passes the entry over once. */
  used: boolean;
}

/**
 * Verdicts by a keyed hash of the credential, bounded in size, and indexed by the ids a notice
 * can name (token id or jti, and partner credential id). Eviction is second-chance ("clock"),
 * which approximates least-recently-used while a hit costs one Map lookup and a flag: entries
 * are kept in insertion order, and the oldest goes first unless it was used since eviction last
 * passed it, in which case it moves to the back instead.
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
    if (entry !== undefined) entry.used = true;
    return entry;
  }

  set(key: string, entry: CacheEntry): void {
    this.delete(key);
    // Unused until served again: a flood of credentials presented once (a spray of made-up
    // ones, each cached as NOT_FOUND) is evicted before the verdicts that are in use.
    entry.used = false;
    this.entries.set(key, entry);
    for (const id of idsOf(entry.verdict)) {
      let keys = this.byId.get(id);
      if (!keys) this.byId.set(id, (keys = new Set()));
      keys.add(key);
    }
    // Each pass over a used entry clears its flag, so this ends within one round of the entries.
    while (this.entries.size > this.maxEntries) {
      const [oldest, candidate] = this.entries.entries().next().value as [string, CacheEntry];
      this.entries.delete(oldest);
      if (candidate.used) {
        candidate.used = false;
        this.entries.set(oldest, candidate);
      } else {
        this.deindex(oldest, candidate);
      }
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.deindex(key, entry);
  }

  private deindex(key: string, entry: CacheEntry): void {
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
