import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_BYTES = 8;
/** "KW" and a format version: a blob says which key wrapped it, so a rollout can hold two keys without trial decryption. */
const MAGIC = Buffer.from([0x4b, 0x57, 0x01]);
const HEADER_BYTES = MAGIC.length + KEY_ID_BYTES;

/**
 * The public name of a wrapping key: a truncated HMAC of a fixed label under the key, so it
 * identifies the key without revealing anything about it.
 */
export function wrappingKeyId(key: Buffer): string {
  return createHmac('sha256', key).update('keyledger/wrapping-key-id/v1').digest().subarray(0, KEY_ID_BYTES).toString('hex');
}

/** A blob names a wrapping key this process does not hold: the configured master keys are not the ones it was made with. */
export class UnknownWrappingKeyError extends Error {
  constructor(
    readonly keyId: string,
    readonly held: readonly string[],
    what: string,
  ) {
    super(
      `${what} was wrapped by key ${keyId}, which is neither KEYLEDGER_MASTER_KEY nor KEYLEDGER_PREVIOUS_MASTER_KEY ` +
        `(this process holds ${held.join(', ')})`,
    );
    this.name = 'UnknownWrappingKeyError';
  }
}

interface HeldKey {
  id: string;
  key: Buffer;
}

/**
 * AES-256-GCM key wrapping with a current key and, during a master key rollout, previous
 * ones. New blobs are always wrapped by the current key and carry its id; unwrapping picks
 * the key by that id. Blobs from before ids existed (`iv ‖ tag ‖ ciphertext`) are still
 * opened, by trying each held key, and re-wrapping gives them a header.
 */
export class WrappingKeys {
  private readonly keys: readonly HeldKey[];

  /** `keys[0]` is the current key; the rest only unwrap. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new RangeError('At least one wrapping key is needed');
    for (const key of keys) if (key.length !== KEY_BYTES) throw new RangeError(`A wrapping key must be ${KEY_BYTES} bytes`);
    this.keys = keys.map((key) => ({ id: wrappingKeyId(key), key }));
  }

  get currentId(): string {
    return this.keys[0].id;
  }

  get heldIds(): string[] {
    return this.keys.map((key) => key.id);
  }

  /** `magic ‖ key id ‖ iv ‖ tag ‖ ciphertext`, under the current key, with `context` as associated data. */
  wrap(plaintext: Buffer, context: string): Buffer {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([MAGIC, Buffer.from(id, 'hex'), iv, cipher.getAuthTag(), body]);
  }

  /**
   * The plaintext, or null when the blob does not open (tampered, or bound to another context).
   * Throws `UnknownWrappingKeyError` when the blob names a key this process does not hold.
   */
  unwrap(blob: Buffer, context: string, what = 'The blob'): Buffer | null {
    const keyId = keyIdOf(blob);
    if (keyId !== null) {
      const held = this.keys.find((candidate) => candidate.id === keyId);
      if (held) {
        const plaintext = open(held.key, blob.subarray(HEADER_BYTES), context);
        if (plaintext) return plaintext;
      }
    }
    // A blob without a header, or an old one whose random IV happens to start like a header.
    for (const { key } of this.keys) {
      const plaintext = open(key, blob, context);
      if (plaintext) return plaintext;
    }
    if (keyId !== null && !this.keys.some((candidate) => candidate.id === keyId)) {
      throw new UnknownWrappingKeyError(keyId, this.heldIds, what);
    }
    return null;
  }

  /** True when the blob is not wrapped by the current key (or predates key ids). */
  needsRewrap(blob: Buffer): boolean {
    return keyIdOf(blob) !== this.currentId;
  }
}

/** The key id in a blob's header, or null for a blob without one. */
export function keyIdOf(blob: Buffer): string | null {
  if (blob.length < HEADER_BYTES + IV_BYTES + TAG_BYTES || !blob.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  return blob.subarray(MAGIC.length, HEADER_BYTES).toString('hex');
}

function open(key: Buffer, sealed: Buffer, context: string): Buffer | null {
  if (sealed.length < IV_BYTES + TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
}
