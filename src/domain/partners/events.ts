/**
 * Partner credential and partner access-token events (v1). None holds a secret: the API
 * secret appears only as its argon2id hash, and an issued access token only as its `jti`
 * and claims, never the signed JWT.
 */

export interface PartnerCredentialCreated {
  type: 'PartnerCredentialCreated';
  data: {
    credentialId: string;
    tenantId: string;
    name: string;
    /** Subtenants it may exchange for; empty means every subtenant of the tenant. */
    subTenantIds: string[];
    /** The public identifier (OAuth `client_id`). */
    apiKey: string;
    /** Prefix and first four characters of the secret. */
    secretDisplay: string;
    /** argon2id PHC string of the API secret. */
    secretHash: string;
    createdAt: string;
  };
}

export interface PartnerCredentialRevoked {
  type: 'PartnerCredentialRevoked';
  data: {
    credentialId: string;
    tenantId: string;
    reason: string | null;
    revokedAt: string;
  };
}

export interface AccessTokenIssued {
  type: 'AccessTokenIssued';
  data: {
    jti: string;
    credentialId: string;
    tenantId: string;
    subTenantId: string;
    /** The signing key's id, so a key's last token can be found. */
    kid: string;
    /**
     * The token's `iss`: the public URL of the gateway that issued it. Processes sharing a log
     * may each have their own; each accepts a token whose `iss` is the one recorded here.
     * Absent in tokens issued before it was recorded.
     */
    issuer?: string;
    issuedAt: string;
    expiresAt: string;
  };
}

export interface AccessTokenRevoked {
  type: 'AccessTokenRevoked';
  data: {
    jti: string;
    credentialId: string;
    tenantId: string;
    subTenantId: string;
    /** The revocation matters only until then. */
    expiresAt: string;
    reason: string | null;
    revokedAt: string;
  };
}

export type PartnerCredentialEvent = PartnerCredentialCreated | PartnerCredentialRevoked;
export type AccessTokenEvent = AccessTokenIssued | AccessTokenRevoked;

export const PARTNER_CREDENTIAL_EVENT_TYPES: readonly PartnerCredentialEvent['type'][] = ['PartnerCredentialCreated', 'PartnerCredentialRevoked'];
export const ACCESS_TOKEN_EVENT_TYPES: readonly AccessTokenEvent['type'][] = ['AccessTokenIssued', 'AccessTokenRevoked'];

export const partnerCredentialStreamId = (credentialId: string) => `partner-credential-${credentialId}`;
/**
 * One stream per access token rather than appending to the credential's stream: exchanges
 * of one credential then never contend, and the credential's stream stays two events long.
 */
export const accessTokenStreamId = (jti: string) => `partner-access-token-${jti}`;

/** Access tokens from the exchange live this long (the source system's 24 hours). */
export const ACCESS_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;
