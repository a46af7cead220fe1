import { createHmac } from 'node:crypto';
import type { AuditFingerprints } from '../domain/audit/mappings';
import { SecretHasher } from './secret-hash';

export const AUDIT_FINGERPRINT_PREFIX = 'hmac-sha256:';

/**
 * Fingerprints in the audit history: HMAC-SHA256 under the deployment's audit key, so they
 * can be compared but neither reversed nor recomputed by whoever reads an export without
 * the key. A generated secret is stored as its lookup hash, and its fingerprint is the HMAC
 * of that hash; fingerprinting a presented secret computes its lookup hash first, so both
 * meet: an auditor holding a leaked secret can ask whether it was ever issued here.
 */
export class AuditFingerprinter implements AuditFingerprints {
  private readonly hasher: SecretHasher;

  constructor(
    private readonly auditKey: Buffer,
    lookupPepper: Buffer,
  ) {
    this.hasher = new SecretHasher(lookupPepper);
  }

  /** Of a stored form (hash, tag, ciphertext): opaque unless it is a lookup hash. */
  ofStored(value: string): string {
    return AUDIT_FINGERPRINT_PREFIX + createHmac('sha256', this.auditKey).update(value).digest('hex');
  }

  /** Of presented credential material: matches the fingerprint of its stored lookup hash. */
  ofSecret(value: string): string {
    return this.ofStored(this.hasher.lookupHash(value));
  }
}
