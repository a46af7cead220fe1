/**
 * Idempotency keys: a client's promise that requests with the same key are one request.
 * Each (caller, key) pair has a stream of its own, named by an HMAC of the pair, holding
 * generations of: a claim, then either the outcome or a release. No field holds a secret or
 * anything derived from one: the request is kept only as an HMAC fingerprint of its
 * arguments with secret values taken out, and the outcome only as a reference to
 * what the request created or changed (or, for a signed audit head, the public statement).
 */
export interface IdempotencyKeyClaimed {
  type: 'IdempotencyKeyClaimed';
  data: { keyId: string; tenantId: string; operation: string; requestFingerprint: string; claimedAt: string };
}

export interface IdempotentRequestCompleted {
  type: 'IdempotentRequestCompleted';
  data: { keyId: string; tenantId: string; operation: string; outcome: IdempotentOutcome; completedAt: string; expiresAt: string };
}

/** The claimed request failed before changing anything, so the key is free for a corrected retry. */
export interface IdempotencyKeyReleased {
  type: 'IdempotencyKeyReleased';
  data: { keyId: string; tenantId: string; operation: string; releasedAt: string };
}

/** What a replay reads back: the entity by id, never a copy of a secret-bearing response. */
export type IdempotentOutcome =
  | { type: 'token'; id: string }
  | { type: 'partner-credential'; id: string }
  /** `apiKeyDataKeyId`: when the request gave an API key, the data key it was sealed under, so a retry's key can be compared with it while it exists. */
  | { type: 'connection'; connectionId: string; tenantId: string; integration: string; name: string; apiKeyDataKeyId?: string }
  | { type: 'connection-deleted'; integration: string; name: string }
  | {
      type: 'signed-audit-head';
      tenantId: string;
      position: string | null;
      eventId: string | null;
      hash: string;
      entries: number;
      signedAt: string;
      jws: string;
      kid: string;
    };

export type IdempotencyEvent = IdempotencyKeyClaimed | IdempotentRequestCompleted | IdempotencyKeyReleased;
export type IdempotencyEventType = IdempotencyEvent['type'];
export const IDEMPOTENCY_EVENT_TYPES: readonly IdempotencyEventType[] = ['IdempotencyKeyClaimed', 'IdempotentRequestCompleted', 'IdempotencyKeyReleased'];

export const idempotencyStreamId = (keyId: string) => `idempotency-${keyId}`;
