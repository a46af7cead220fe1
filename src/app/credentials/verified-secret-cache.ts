/**
 * Which stored argon2 hash a chosen secret verified against, and the hashes its lookup tag
 * held when it was checked: the verdict stands only while the tag holds exactly those, so
 * a cached verdict can never differ from what a full check would find now.
 */
export interface VerifiedSecret {
  secretHash: string;
  bucket: string;
}

/**
 * Remembers the verdict of a chosen secret's argon2 check, keyed by the secret's HMAC, so a
 * caller using such a secret as its bearer pays argon2 once per TTL rather than on every
 * request. The hash, not the token, is remembered so that the stored secret's own state
 * (rotated out, grace period over) is read again on every use. Holds no secret; bounded in
 * size and age.
 */
export class VerifiedSecretCache {
  private readonly entries = new Map<string, VerifiedSecret & { expiresAt: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  get(fingerprint: string, now = Date.now()): VerifiedSecret | null {
    const entry = this.entries.get(fingerprint);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      this.entries.delete(fingerprint);
      return null;
    }
    return { secretHash: entry.secretHash, bucket: entry.bucket };
  }

  set(fingerprint: string, verified: VerifiedSecret, now = Date.now()): void {
    this.entries.delete(fingerprint);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(fingerprint, { ...verified, expiresAt: now + this.ttlMs });
  }
}
