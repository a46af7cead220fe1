import { randomBytes } from 'node:crypto';
import type { SealedSecret } from '../domain/tokens/events';
import type { DataKeyStore, StoredDataKey } from './data-keys';
import { unwrapKey, wrapKey } from './key-wrap';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_VERSION = 'v1';

/**
 * Envelope encryption for secrets that must be recovered (an integration key's secret, to
 * check a client's HMAC). Each record gets its own random data key; the data key is stored
 * wrapped by a key derived from the master key, outside the event log; the record's secret
 * is stored (in the log) only as AES-256-GCM ciphertext under that data key. Destroying the
 * data key shreds the secret.
 *
 * Both layers bind their context as associated data — the data key its id, the ciphertext
 * its record id — so a ciphertext or wrapped key copied onto another record fails to open.
 */
export class SecretSealer {
  constructor(
    private readonly wrappingKey: Buffer,
    private readonly store: DataKeyStore,
  ) {
    if (wrappingKey.length !== KEY_BYTES) throw new RangeError(`The wrapping key must be ${KEY_BYTES} bytes`);
  }

  /** Creates and stores the data key `dataKeyId`. */
  async createDataKey(dataKeyId: string): Promise<void> {
    const dataKey = randomBytes(KEY_BYTES);
    try {
      await this.store.put(dataKeyId, encrypt(this.wrappingKey, dataKey, `keyledger/data-key/v1:${dataKeyId}`));
    } finally {
      dataKey.fill(0);
    }
  }

  /** Encrypts `secret` for `recordId` under an existing data key. */
  async seal(dataKeyId: string, recordId: string, secret: string): Promise<SealedSecret> {
    const dataKey = await this.dataKey(dataKeyId);
    if (!dataKey) throw new Error(`Data key ${dataKeyId} does not exist`);
    try {
      const sealed = encrypt(dataKey, Buffer.from(secret, 'utf8'), `keyledger/sealed-secret/v1:${recordId}`);
      return { dataKeyId, ciphertext: `${CIPHERTEXT_VERSION}.${sealed.toString('base64url')}` };
    } finally {
      dataKey.fill(0);
    }
  }

  /** The secret, or null when its data key was destroyed (or the ciphertext is not this record's). */
  async open(sealed: SealedSecret, recordId: string): Promise<string | null> {
    const [version, body] = sealed.ciphertext.split('.');
    if (version !== CIPHERTEXT_VERSION || !body) return null;
    const dataKey = await this.dataKey(sealed.dataKeyId);
    if (!dataKey) return null;
    try {
      const plaintext = decrypt(dataKey, Buffer.from(body, 'base64url'), `keyledger/sealed-secret/v1:${recordId}`);
      return plaintext === null ? null : plaintext.toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  }

  /** Crypto-shredding: every secret sealed under this data key becomes unreadable. */
  async destroyDataKey(dataKeyId: string): Promise<void> {
    await this.store.destroy(dataKeyId);
  }

  async listDataKeys(): Promise<StoredDataKey[]> {
    return this.store.list();
  }

  private async dataKey(dataKeyId: string): Promise<Buffer | null> {
    const wrapped = await this.store.get(dataKeyId);
    if (!wrapped) return null;
    const key = decrypt(this.wrappingKey, wrapped, `keyledger/data-key/v1:${dataKeyId}`);
    if (!key) throw new Error(`Data key ${dataKeyId} cannot be unwrapped: is KEYLEDGER_MASTER_KEY the one it was created with?`);
    return key;
  }
}

/** One buffer, `iv ‖ tag ‖ ciphertext`, for a single column or a single string. */
function encrypt(key: Buffer, plaintext: Buffer, context: string): Buffer {
  const { iv, tag, ciphertext } = wrapKey(key, plaintext, context);
  return Buffer.concat([iv, tag, ciphertext]);
}

function decrypt(key: Buffer, sealed: Buffer, context: string): Buffer | null {
  if (sealed.length < IV_BYTES + TAG_BYTES) return null;
  return unwrapKey(
    key,
    { iv: sealed.subarray(0, IV_BYTES), tag: sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES), ciphertext: sealed.subarray(IV_BYTES + TAG_BYTES) },
    context,
  );
}
