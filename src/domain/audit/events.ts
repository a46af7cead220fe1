/**
 * A tenant's audit chain head, signed by the gateway on its periodic round and kept in the
 * log so the signature outlives any read model. `jws` is a compact JWS (typ
 * `keyledger-audit-head+jws`) over the canonical JSON of
 * `{tenantId, position, hash, entries, signedAt, kid}`.
 */
export interface AuditHeadSigned {
  type: 'AuditHeadSigned';
  data: {
    tenantId: string;
    position: string;
    hash: string;
    entries: number;
    jws: string;
  };
}

/** What the periodic round signs for a tenant: the canonical JSON in an `AuditHeadSigned`'s JWS payload. */
export interface PeriodicAuditHeadClaims {
  tenantId: string;
  position: string;
  hash: string;
  entries: number;
  signedAt: string;
  kid: string;
}

export type AuditHeadEvent = AuditHeadSigned;
export const AUDIT_HEAD_EVENT_TYPES: readonly AuditHeadEvent['type'][] = ['AuditHeadSigned'];

/** One stream per tenant, so appending with the revision read makes concurrent signers of a head agree on one. */
export function auditHeadsStream(tenantId: string): string {
  return `audit-heads-${tenantId}`;
}
