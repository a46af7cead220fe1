/**
 * Token events (v1). None holds a secret: generated secrets appear only as their HMAC
 * lookup hash, chosen or imported ones only as an argon2id hash.
 */
export const TokenKinds = ['API_TOKEN', 'WEBHOOK_TOKEN', 'INTEGRATION_KEY'] as const;
export type TokenKind = (typeof TokenKinds)[number];

/** How the secret came to be, which decides how it is stored and verified. */
export type SecretOrigin = 'generated' | 'imported' | 'bootstrap';

export interface TokenIssued {
  type: 'TokenIssued';
  data: {
    tokenId: string;
    tenantId: string;
    kind: TokenKind;
    name: string;
    roles: string[];
    /** ISO instant or null for no expiry. */
    expiresAt: string | null;
    /** Prefix and first four characters of the secret. */
    display: string;
    /** `hmac-sha256$...` or an argon2id PHC string. */
    secretHash: string;
    /** Short HMAC tag to find argon2-hashed secrets; null for HMAC-hashed ones. */
    lookupTag: string | null;
    origin: SecretOrigin;
    issuedAt: string;
  };
}

export interface TokenRevoked {
  type: 'TokenRevoked';
  data: {
    tokenId: string;
    tenantId: string;
    reason: string | null;
    revokedAt: string;
  };
}

export type TokenEvent = TokenIssued | TokenRevoked;
export type TokenEventType = TokenEvent['type'];
export const TOKEN_EVENT_TYPES: readonly TokenEventType[] = ['TokenIssued', 'TokenRevoked'];

export const tokenStreamId = (tokenId: string) => `token-${tokenId}`;
