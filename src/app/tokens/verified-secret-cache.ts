/**
 * Remembers which token a chosen (argon2-hashed) secret verified as, keyed by the secret's
 * HMAC, so a caller using such a secret as its bearer pays argon2 once per TTL rather than
 * on every request. Holds no secret; bounded in size and age.
 */
export class VerifiedSecretCache {
  private readonly entries = new Map<string, { tokenId: string; expiresAt: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  get(fingerprint: string, now = Date.now()): string | null {
    const entry = this.entries.get(fingerprint);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      this.entries.delete(fingerprint);
      return null;
    }
    return entry.tokenId;
  }

  set(fingerprint: string, tokenId: string, now = Date.now()): void {
    this.entries.delete(fingerprint);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(fingerprint, { tokenId, expiresAt: now + this.ttlMs });
  }
}
