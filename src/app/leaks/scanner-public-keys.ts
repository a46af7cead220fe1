import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';

/** How a signed report's signature checks out against the published keys. */
export type SignatureCheck = 'valid' | 'invalid' | 'unknown-key' | 'keys-unavailable';

export interface ScannerPublicKeysOptions {
  source: { url: string } | { file: string };
  clock: Clock;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** An unknown key identifier refetches the document at most this often. */
  minRefreshIntervalMs?: number;
  /** Keys older than this are fetched again on the next report, so a withdrawn key stops verifying. */
  maxAgeMs?: number;
}

const FETCH_TIMEOUT_MS = 5000;
/** GitHub's document holds a handful of keys: anything much larger is not it. */
const MAX_DOCUMENT_BYTES = 256 * 1024;
const KEY_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
const SIGNATURE_PATTERN = /^[A-Za-z0-9+/]{16,512}={0,2}$/;

/**
 * The public keys a code host signs its secret-scanning reports with, from a document
 * `{ "public_keys": [{ "key_identifier", "key" (PEM), "is_current" }] }` at a URL or in a
 * file. The document is cached; a signature naming a key it does not hold fetches it again,
 * but no more often than `minRefreshIntervalMs`, so that made-up identifiers cannot turn
 * every request into a fetch. Every listed key verifies, current or not, so that reports
 * signed just before a key rotation still verify.
 */
export class ScannerPublicKeys {
  private keys: Map<string, KeyObject> | null = null;
  private loadedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;
  private readonly minRefreshIntervalMs: number;
  private readonly maxAgeMs: number;

  constructor(private readonly options: ScannerPublicKeysOptions) {
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 60_000;
    this.maxAgeMs = options.maxAgeMs ?? 3600_000;
  }

  /** Checks a base64 DER ECDSA P-256 / SHA-256 signature over the raw body. */
  async check(keyId: string, signature: string, body: Buffer): Promise<SignatureCheck> {
    if (!KEY_ID_PATTERN.test(keyId) || !SIGNATURE_PATTERN.test(signature)) return 'invalid';
    const key = await this.keyFor(keyId);
    if (key === 'keys-unavailable' || key === 'unknown-key') return key;
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64')) ? 'valid' : 'invalid';
    } catch {
      // A signature that is not DER at all is as wrong as one that does not match.
      return 'invalid';
    }
  }

  private async keyFor(keyId: string): Promise<KeyObject | 'unknown-key' | 'keys-unavailable'> {
    const now = this.options.clock.now().getTime();
    const stale = now - this.loadedAt >= this.maxAgeMs;
    const unknown = !this.keys?.has(keyId);
    // A read under way is waited for; otherwise one starts no sooner than the interval allows,
    // also while nothing could be read yet, so an unreachable document is not fetched per request.
    if (this.loading) await this.loading;
    else if ((stale || unknown) && now - this.attemptedAt >= this.minRefreshIntervalMs) await this.reload();
    if (this.keys === null) return 'keys-unavailable';
    return this.keys.get(keyId) ?? 'unknown-key';
  }

  /** One load at a time: concurrent reports wait for the same one. A failed load keeps the keys held before. */
  private reload(): Promise<void> {
    this.loading ??= (async () => {
      this.attemptedAt = this.options.clock.now().getTime();
      try {
        const keys = parsePublicKeys(await this.readDocument(), this.options.logger);
        this.keys = keys;
        this.loadedAt = this.options.clock.now().getTime();
      } catch (error) {
        this.options.logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'could not load the secret-scanning public keys');
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }

  private async readDocument(): Promise<string> {
    const { source } = this.options;
    if ('file' in source) {
      const text = await readFile(source.file, 'utf8');
      if (text.length > MAX_DOCUMENT_BYTES) throw new Error('the public-keys file is too large');
      return text;
    }
    const response = await fetch(source.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`the public-keys URL answered ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new Error('the public-keys document is too large');
    return text;
  }
}

/** The P-256 keys of a public-keys document by identifier; entries of another shape are skipped, with a warning. */
export function parsePublicKeys(text: string, logger: Pick<Logger, 'warn'>): Map<string, KeyObject> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new Error('the public-keys document is not JSON');
  }
  const entries = (document as { public_keys?: unknown } | null)?.public_keys;
  if (!Array.isArray(entries)) throw new Error('the public-keys document has no public_keys list');
  const keys = new Map<string, KeyObject>();
  for (const entry of entries) {
    const { key_identifier: id, key: pem } = (entry ?? {}) as { key_identifier?: unknown; key?: unknown };
    if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id) || typeof pem !== 'string') {
      logger.warn({}, 'skipped a secret-scanning public key without a usable key_identifier or key');
      continue;
    }
    try {
      const key = createPublicKey(pem);
      if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not a P-256 key');
      keys.set(id, key);
    } catch {
      logger.warn({ keyIdentifier: id }, 'skipped a secret-scanning public key that is not a P-256 public key in PEM');
    }
  }
  return keys;
}
