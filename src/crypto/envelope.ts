import { randomBytes } from 'node:crypto';
import type { SealedSecret } from '../domain/tokens/events';
import type { DataKeyStore, StoredDataKey } from './data-keys';
import { WrappingKeys } from './wrapping-keys';
import { unwrapKey, wrapKey } from './key-wrap';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_VERSION = 'v1';

/** What `unseal` found: the secret, a destroyed data key, or bytes that do not open. */
export type UnsealOutcome = { status: 'opened'; secret: string } | { status: 'shredded' } | { status: 'corrupt' };

export interface RewrapOutcome {
  /** Keys now wrapped by the current master key that were not before. */
  rewrapped: number;
  /** Keys that already were. */
  unchanged: number;
  /** Ids of keys that could not be unwrapped (named in the error log, never their bytes). */
  failed: string[];
}

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
  private readonly wrapping: WrappingKeys;

  /** `wrapping` is the current wrapping key alone, or with the previous master key's during a rotation. */
  constructor(
    wrapping: Buffer | WrappingKeys,
    private readonly store: DataKeyStore,
  ) {
    this.wrapping = wrapping instanceof WrappingKeys ? wrapping : new WrappingKeys([wrapping]);
  }

  /** Creates and stores the data key `dataKeyId`. */
  async createDataKey(dataKeyId: string): Promise<void> {
    const dataKey = randomBytes(KEY_BYTES);
    try {
      await this.store.put(dataKeyId, this.wrapping.wrap(dataKey, dataKeyContext(dataKeyId)));
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

  /**
   * Like `open`, but tells a destroyed data key from a ciphertext that does not open under
   * an existing one, so that a caller can report corruption instead of absence. Throws when
   * the data key itself cannot be unwrapped (wrong master key, tampered key store).
   */
  async unseal(sealed: SealedSecret, recordId: string): Promise<UnsealOutcome> {
    const dataKey = await this.dataKey(sealed.dataKeyId);
    if (!dataKey) return { status: 'shredded' };
    try {
      const [version, body] = sealed.ciphertext.split('.');
      if (version !== CIPHERTEXT_VERSION || !body) return { status: 'corrupt' };
      const plaintext = decrypt(dataKey, Buffer.from(body, 'base64url'), `keyledger/sealed-secret/v1:${recordId}`);
      return plaintext === null ? { status: 'corrupt' } : { status: 'opened', secret: plaintext.toString('utf8') };
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Master key rotation: every data key not yet wrapped by the current master key is
   * unwrapped (with the previous one) and wrapped again. Safe while gateways run: a key
   * destroyed or re-wrapped meanwhile is left alone.
   */
  async rewrapDataKeys(onFailure: (dataKeyId: string, error: unknown) => void = () => {}): Promise<RewrapOutcome> {
    const outcome: RewrapOutcome = { rewrapped: 0, unchanged: 0, failed: [] };
    for (const { id } of await this.store.list()) {
      const wrapped = await this.store.get(id);
      if (!wrapped) continue;
      if (!this.wrapping.needsRewrap(wrapped)) {
        outcome.unchanged++;
        continue;
      }
      let dataKey: Buffer | null;
      try {
        dataKey = this.wrapping.unwrap(wrapped, dataKeyContext(id), `Data key ${id}`);
        if (!dataKey) throw new Error(`Data key ${id} cannot be unwrapped: it was altered, or copied from another id`);
      } catch (error) {
        outcome.failed.push(id);
        onFailure(id, error);
        continue;
      }
      try {
        if (await this.store.replaceWrapping(id, wrapped, this.wrapping.wrap(dataKey, dataKeyContext(id)))) outcome.rewrapped++;
      } finally {
        dataKey.fill(0);
      }
    }
    return outcome;
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
    const key = this.wrapping.unwrap(wrapped, dataKeyContext(dataKeyId), `Data key ${dataKeyId}`);
    if (!key) throw new Error(`Data key ${dataKeyId} cannot be unwrapped: is KEYLEDGER_MASTER_KEY the one it was created with?`);
    return key;
  }
}

const dataKeyContext = (dataKeyId: string) => `keyledger/data-key/v1:${dataKeyId}`;

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
