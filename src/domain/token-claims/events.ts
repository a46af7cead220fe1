/**
 * Claims that span tokens: a code unique in a tenant, and at most N active keys per
 * integration. The event store has no multi-stream transaction, so each claim lives in its
 * own stream and is appended with an expected revision before the token's stream is
 * written; the holder is named by token id so an unfinished issue can be recognised later.
 */
export interface TokenCodeReserved {
  type: 'TokenCodeReserved';
  data: { tenantId: string; code: string; tokenId: string; reservedAt: string };
}

export interface TokenCodeReleased {
  type: 'TokenCodeReleased';
  data: { tenantId: string; code: string; tokenId: string; releasedAt: string };
}

export interface IntegrationKeySlotTaken {
  type: 'IntegrationKeySlotTaken';
  data: { tenantId: string; integrationId: string; tokenId: string; takenAt: string };
}

export interface IntegrationKeySlotReleased {
  type: 'IntegrationKeySlotReleased';
  data: { tenantId: string; integrationId: string; tokenId: string; releasedAt: string };
}

export type TokenClaimEvent = TokenCodeReserved | TokenCodeReleased | IntegrationKeySlotTaken | IntegrationKeySlotReleased;
export type TokenClaimEventType = TokenClaimEvent['type'];
export const TOKEN_CLAIM_EVENT_TYPES: readonly TokenClaimEventType[] = [
  'TokenCodeReserved',
  'TokenCodeReleased',
  'IntegrationKeySlotTaken',
  'IntegrationKeySlotReleased',
];

/*
 * '/' separates the parts because neither a tenant id nor a code nor an integration id may
 * contain it, so two different pairs can never name the same stream. Codes are compared
 * case-insensitively: "Billing" and "billing" would confuse the people who read them.
 */
export const tokenCodeStreamId = (tenantId: string, code: string) => `token-code-${tenantId}/${code.toLowerCase()}`;
export const integrationKeysStreamId = (tenantId: string, integrationId: string) => `integration-keys-${tenantId}/${integrationId}`;

/**
 * A chosen or imported secret must identify exactly one credential in the whole deployment:
 * a secret two tenants hold would authenticate as whichever one verification happened to
 * find. Uniqueness is claimed like a token code, in a stream of its own appended with an
 * expected revision, but the stream is named by the secret's 24-bit lookup tag, not by the
 * secret: a full HMAC of a guessable secret in the log would let a guess be checked without
 * paying argon2. Each claim carries the argon2 hash, so a later claimer finds out whether
 * it holds the same secret by checking the few hashes of its tag's stream.
 */
export interface ImportedSecretClaimed {
  type: 'ImportedSecretClaimed';
  data: { tenantId: string; tokenId: string; lookupTag: string; secretHash: string; claimedAt: string };
}

export type ImportedSecretClaimEvent = ImportedSecretClaimed;
export const IMPORTED_SECRET_CLAIM_EVENT_TYPES: readonly ImportedSecretClaimEvent['type'][] = ['ImportedSecretClaimed'];

export const importedSecretStreamId = (lookupTag: string) => `imported-secret-${lookupTag}`;
