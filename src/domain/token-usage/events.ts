/**
 * Spends of a token's credits, one event per verification that spent some, in the token's
 * own `token-credits-<id>` stream. The spend is the append itself, made with the stream's
 * revision as the expected one: of two verifications racing for the last credit, in one
 * process, across processes or across replicas, one append fails and is decided again.
 */
export interface TokenCreditsSpent {
  type: 'TokenCreditsSpent';
  data: {
    tokenId: string;
    tenantId: string;
    /** The revision, in the token's stream, of the event that set the credits spent from. */
    grant: number;
    /** The refill period spent in (see `creditPeriod`). */
    period: string;
    cost: number;
    /** The balance after this spend. */
    remaining: number;
    spentAt: string;
  };
}

export const tokenCreditsStreamId = (tokenId: string) => `token-credits-${tokenId}`;

/** Verifications of one token in one UTC hour that ended with one code. */
export interface VerificationBucket {
  tokenId: string;
  /** The hour's start, `2026-12-02T10:00:00.000Z`. */
  hour: string;
  code: string;
  count: number;
}

/**
 * Counts of `verifyToken` outcomes, kept in memory on the verification's path and appended in
 * batches, one event per tenant per flush, to the tenant's `token-verifications-<tenant>`
 * stream: every replica's counts reach every replica's usage analytics. Only ids, hours,
 * codes and numbers: never a presented credential.
 */
export interface TokenVerificationsCounted {
  type: 'TokenVerificationsCounted';
  data: {
    tenantId: string;
    buckets: VerificationBucket[];
    countedAt: string;
  };
}

export type TokenUsageEvent = TokenCreditsSpent | TokenVerificationsCounted;
export const TOKEN_USAGE_EVENT_TYPES: readonly TokenUsageEvent['type'][] = ['TokenCreditsSpent', 'TokenVerificationsCounted'];

export const tokenVerificationsStreamId = (tenantId: string) => `token-verifications-${tenantId}`;
