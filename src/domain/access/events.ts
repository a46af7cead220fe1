import type { ConnectionUsed } from '../connections/events';

/**
 * A presented credential that did not authenticate. Never the credential itself: the token
 * it named when it was one (revoked or expired) and why it failed. `tenantId` is null when
 * the credential is no one's. Recorded in `access-<tenant>` streams with the uses of
 * connections, off the request path.
 */
export interface AuthenticationFailed {
  type: 'AuthenticationFailed';
  data: {
    tenantId: string | null;
    /** The token or partner access token (jti) the credential belonged to, when it was one. */
    credentialId: string | null;
    credentialType: 'token' | 'partner';
    code: 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED' | 'DISABLED';
    failedAt: string;
  };
}

/**
 * A `verifyToken` check of a credential that holds keyledger roles: someone outside keyledger
 * was shown a credential with power over keyledger itself, which an auditor wants to see.
 * The caller is the event's actor; the outcome is `code`.
 */
export interface PrivilegedTokenVerified {
  type: 'PrivilegedTokenVerified';
  data: {
    tenantId: string;
    tokenId: string;
    code: 'VALID' | 'REVOKED' | 'EXPIRED' | 'INSUFFICIENT_ROLES' | 'DISABLED';
    requiredRoles: string[];
    /** Present only when the check named alternatives: at least one group had to be held whole. */
    anyOf?: string[][];
    verifiedAt: string;
  };
}

/** Records of access rather than changes: what the `access-<tenant>` streams hold. */
export type AccessEvent = ConnectionUsed | AuthenticationFailed | PrivilegedTokenVerified;
export const ACCESS_EVENT_TYPES: readonly AccessEvent['type'][] = ['ConnectionUsed', 'AuthenticationFailed', 'PrivilegedTokenVerified'];
