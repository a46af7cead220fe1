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
    code: 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED';
    failedAt: string;
  };
}

/** Records of access rather than changes: what the `access-<tenant>` streams hold. */
export type AccessEvent = ConnectionUsed | AuthenticationFailed;
export const ACCESS_EVENT_TYPES: readonly AccessEvent['type'][] = ['ConnectionUsed', 'AuthenticationFailed'];
