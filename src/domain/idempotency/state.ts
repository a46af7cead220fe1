import type { IdempotencyEvent, IdempotentOutcome } from './events';

/** The key's latest generation: free (never used, or released), claimed by a request in flight, or completed. */
export type IdempotencyState =
  | { status: 'free' }
  | { status: 'claimed'; operation: string; requestFingerprint: string; claimedAt: string }
  | {
      status: 'completed';
      operation: string;
      requestFingerprint: string;
      claimedAt: string;
      outcome: IdempotentOutcome;
      completedAt: string;
      expiresAt: string;
    };

export const initialIdempotencyState: IdempotencyState = { status: 'free' };

export function evolveIdempotency(state: IdempotencyState, event: IdempotencyEvent): IdempotencyState {
  switch (event.type) {
    case 'IdempotencyKeyClaimed':
      return { status: 'claimed', operation: event.data.operation, requestFingerprint: event.data.requestFingerprint, claimedAt: event.data.claimedAt };
    case 'IdempotentRequestCompleted':
      if (state.status !== 'claimed') return state;
      return { ...state, status: 'completed', outcome: event.data.outcome, completedAt: event.data.completedAt, expiresAt: event.data.expiresAt };
    case 'IdempotencyKeyReleased':
      return initialIdempotencyState;
  }
}
