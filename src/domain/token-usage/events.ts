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

export type TokenCreditEvent = TokenCreditsSpent;
export const TOKEN_CREDIT_EVENT_TYPES: readonly TokenCreditEvent['type'][] = ['TokenCreditsSpent'];

export const tokenCreditsStreamId = (tokenId: string) => `token-credits-${tokenId}`;
