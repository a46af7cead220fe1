import { hkdfSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { WrappingKeys } from './wrapping-keys';

export const MASTER_KEY_BYTES = 32;

/** The master key in force and, while a rotation rolls out, the one it replaces. */
export interface MasterKeys {
  current: Buffer;
  previous: Buffer | null;
}

export const DEPLOYMENT_SECRET_BYTES = 32;

/**
 * The deployment's key material, in two roots:
 *
 * - the **master key** (configuration) only wraps: the per-record data keys outside the log,
 *   and the deployment secret inside it. It can be rotated (`rotate-master-key`), because
 *   everything it wraps can be re-wrapped.
 * - the **deployment secret** (generated once, kept in the event log wrapped by the master
 *   key) is where the keys that must never change come from: the lookup pepper (every
 *   stored token hash depends on it), the audit key, and the key that wraps JWT signing
 *   keys in the log. Replicas read it from the shared log, so none is generated per replica.
 */
export class KeyRing {
  /** HMAC key for credential lookup hashes. */
  readonly lookupPepper: Buffer;
  /** HMAC key for audit fingerprints. */
  readonly auditKey: Buffer;
  /** HMAC key for idempotency key ids and request fingerprints. */
  readonly idempotencyKey: Buffer;
  /** The current key that wraps data keys; `dataKeyWrapping` also unwraps with the previous one. */
  readonly dataKeyWrappingKey: Buffer;
  readonly dataKeyWrapping: WrappingKeys;
  /** AES-256-GCM key that wraps the JWT signing keys kept in the event log. */
  readonly signingKeyWrappingKey: Buffer;
  readonly masterKey: Buffer;

  constructor(masterKeys: MasterKeys, deploymentSecret: Buffer) {
    for (const key of [masterKeys.current, masterKeys.previous]) {
      if (key && key.length !== MASTER_KEY_BYTES) throw new RangeError(`The master key must be ${MASTER_KEY_BYTES} bytes`);
    }
    if (deploymentSecret.length !== DEPLOYMENT_SECRET_BYTES) throw new RangeError(`The deployment secret must be ${DEPLOYMENT_SECRET_BYTES} bytes`);
    this.masterKey = masterKeys.current;
    this.lookupPepper = derive(deploymentSecret, 'keyledger/lookup-pepper/v1');
    this.auditKey = derive(deploymentSecret, 'keyledger/audit-key/v1');
    this.idempotencyKey = derive(deploymentSecret, 'keyledger/idempotency/v1');
    this.signingKeyWrappingKey = derive(deploymentSecret, 'keyledger/signing-key-wrapping/v1');
    this.dataKeyWrapping = dataKeyWrappingKeys(masterKeys);
    this.dataKeyWrappingKey = derive(masterKeys.current, DATA_KEY_WRAPPING);
  }
}

const DATA_KEY_WRAPPING = 'keyledger/data-key-wrapping/v1';
const DEPLOYMENT_SECRET_WRAPPING = 'keyledger/deployment-secret-wrapping/v1';

/** Wraps data keys: the current master key's, then the previous one's for blobs not yet re-wrapped. */
export function dataKeyWrappingKeys(masterKeys: MasterKeys): WrappingKeys {
  return wrappingKeysFor(masterKeys, DATA_KEY_WRAPPING);
}

/** Wraps the deployment secret in the event log. */
export function deploymentSecretWrappingKeys(masterKeys: MasterKeys): WrappingKeys {
  return wrappingKeysFor(masterKeys, DEPLOYMENT_SECRET_WRAPPING);
}

function wrappingKeysFor(masterKeys: MasterKeys, info: string): WrappingKeys {
  const keys = [derive(masterKeys.current, info)];
  if (masterKeys.previous && !masterKeys.previous.equals(masterKeys.current)) keys.push(derive(masterKeys.previous, info));
  return new WrappingKeys(keys);
}

/** A short public name for a master key, for operators comparing configurations; reveals nothing about the key. */
export function masterKeyFingerprint(masterKey: Buffer): string {
  return `mk_${derive(masterKey, 'keyledger/master-key-fingerprint/v1').subarray(0, 6).toString('hex')}`;
}

function derive(rootKey: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', rootKey, Buffer.from('keyledger'), Buffer.from(info), 32));
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
