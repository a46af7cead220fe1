import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import argon2 from 'argon2';

/**
 * Two ways to store a credential secret, told apart by the stored string's own prefix so
 * both can coexist and be migrated:
 *
 * - `hmac-sha256$<hex>` for generated high-entropy secrets. HMAC under a server pepper is
 *   enough when the secret carries ≥160 random bits, and it is also the lookup key, so
 *   verification is one indexed read.
 * - `$argon2id$...` (PHC string) for secrets a person chose or imported, which may be guessable.
 *   These are found through a short lookup tag (see `lookupTag`) and confirmed with argon2.
 */
export const HMAC_PREFIX = 'hmac-sha256$';

/** OWASP password-storage minimums for argon2id: m = 19 MiB, t = 2, p = 1. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Bits of the HMAC kept in a lookup tag for argon2-hashed secrets. */
const LOOKUP_TAG_HEX_CHARS = 6;

export class SecretHasher {
  /** Imported once: a raw Buffer key is imported again by every HMAC made with it. */
  private readonly pepper: KeyObject;

  constructor(pepper: Buffer) {
    this.pepper = createSecretKey(pepper);
  }

  /** `hmac-sha256$<hex>`: the stored form and index key of a generated secret. */
  lookupHash(secret: string): string {
    return HMAC_PREFIX + this.hmacHex('lookup', secret);
  }

  /**
   * A 24-bit tag of an argon2-hashed secret, used only to find the few candidate records to
   * check with argon2. It is too short to confirm a guess by itself, so argon2 still has to be
   * paid for each candidate an attacker tries offline.
   */
  lookupTag(secret: string): string {
    return this.hmacHex('tag', secret).slice(0, LOOKUP_TAG_HEX_CHARS);
  }

  /**
   * The PHC string with its parameters in the standard m,t,p order: node-argon2 writes
   * m,p,t, which some other argon2 implementations refuse, and hashes must stay portable.
   */
  async argon2Hash(secret: string): Promise<string> {
    const hash = await argon2.hash(secret, ARGON2_OPTIONS);
    return hash.replace(/\$m=(\d+),p=(\d+),t=(\d+)\$/, '$$m=$1,t=$3,p=$2$$');
  }

  async argon2Verify(storedHash: string, secret: string): Promise<boolean> {
    try {
      return await argon2.verify(storedHash, secret);
    } catch {
      return false;
    }
  }

  /** Constant-time comparison of two stored lookup hashes. */
  static sameHash(a: string, b: string): boolean {
    const left = Buffer.from(a);
    const right = Buffer.from(b);
    return left.length === right.length && timingSafeEqual(left, right);
  }

  private hmacHex(purpose: string, secret: string): string {
    return createHmac('sha256', this.pepper).update(purpose).update('\0').update(secret).digest('hex');
  }
}

export function isArgon2Hash(stored: string): boolean {
  return stored.startsWith('$argon2id$');
}
