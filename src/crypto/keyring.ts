import { hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export const MASTER_KEY_BYTES = 32;

/**
 * The deployment's key material. Everything is derived from the master key with HKDF, so
 * replicas that share `KEYLEDGER_MASTER_KEY` agree on every derived key and none is ever
 * generated per replica.
 */
export class KeyRing {
  /** HMAC key for credential lookup hashes. */
  readonly lookupPepper: Buffer;
  /** HMAC key for audit fingerprints. */
  readonly auditKey: Buffer;
  /** AES-256-GCM key that wraps the per-record data keys kept outside the event log. */
  readonly dataKeyWrappingKey: Buffer;
  /** AES-256-GCM key that wraps the JWT signing keys kept in the event log. */
  readonly signingKeyWrappingKey: Buffer;

  constructor(readonly masterKey: Buffer) {
    if (masterKey.length !== MASTER_KEY_BYTES) throw new RangeError(`The master key must be ${MASTER_KEY_BYTES} bytes`);
    this.lookupPepper = derive(masterKey, 'keyledger/lookup-pepper/v1');
    this.auditKey = derive(masterKey, 'keyledger/audit-key/v1');
    this.dataKeyWrappingKey = derive(masterKey, 'keyledger/data-key-wrapping/v1');
    this.signingKeyWrappingKey = derive(masterKey, 'keyledger/signing-key-wrapping/v1');
  }
}

function derive(masterKey: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.from('keyledger'), Buffer.from(info), 32));
}

export function parseMasterKey(encoded: string): Buffer {
  const trimmed = encoded.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) {
    throw new RangeError('KEYLEDGER_MASTER_KEY must be base64 (for example: openssl rand -base64 32)');
  }
  const key = Buffer.from(trimmed, 'base64');
  if (key.length !== MASTER_KEY_BYTES) {
    throw new RangeError(`KEYLEDGER_MASTER_KEY must encode exactly ${MASTER_KEY_BYTES} bytes (it encodes ${key.length})`);
  }
  return key;
}

/**
 * Reads the development master key from `path`, creating it if missing. Creation uses an
 * exclusive open, so two processes starting at once on a fresh data directory end up with
 * the same key: the loser of the race reads the winner's file.
 */
export function loadOrCreateMasterKeyFile(path: string): { key: Buffer; created: boolean } {
  mkdirSync(dirname(path), { recursive: true });
  if (!existsSync(path)) {
    const key = randomBytes(MASTER_KEY_BYTES);
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${key.toString('base64')}\n`);
      } finally {
        closeSync(fd);
      }
      return { key, created: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  // A racing creator may have created the file but not yet written it.
  for (let attempt = 0; attempt < 50; attempt++) {
    const content = readFileSync(path, 'utf8').trim();
    if (content.length > 0) return { key: parseMasterKey(content), created: false };
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  throw new Error(`The master key file ${path} is empty`);
}
