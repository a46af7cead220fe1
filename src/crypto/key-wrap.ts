import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface WrappedKeyParts {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * AES-256-GCM with the key's identity as associated data: a wrapped key copied onto another
 * record (another kid) fails to open instead of silently becoming that record's key.
 */
export function wrapKey(wrappingKey: Buffer, plaintext: Buffer, context: string): WrappedKeyParts {
  requireKey(wrappingKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/** The plaintext, or null when the key, the context or the bytes are not the ones it was wrapped with. */
export function unwrapKey(wrappingKey: Buffer, parts: WrappedKeyParts, context: string): Buffer | null {
  requireKey(wrappingKey);
  if (parts.iv.length !== IV_BYTES || parts.tag.length !== TAG_BYTES) return null;
  const decipher = createDecipheriv('aes-256-gcm', wrappingKey, parts.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(parts.tag);
  try {
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch {
    return null;
  }
}

function requireKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`A wrapping key must be ${KEY_BYTES} bytes`);
}
