import { KeyledgerError } from '../errors';
import type { IdempotentOutcome } from './events';
import type { IdempotencyState } from './state';

/**
 * How long a claim without an outcome counts as a request in flight. The request runs right
 * after its claim, so this only has to outlast a slow mutation; after it the claim is taken
 * to be abandoned by a gateway that crashed, and the key can be claimed again.
 */
export const UNCOMPLETED_CLAIM_GRACE_MS = 60_000;

export interface IdempotentRequest {
  operation: string;
  requestFingerprint: string;
}

export type IdempotencyDecision = { action: 'claim' } | { action: 'replay'; outcome: IdempotentOutcome; originalAt: string };

/**
 * Pure: whether a request may claim the key, must be answered with the recorded outcome, or
 * is refused with CONFLICT (another request under this key, or this one still in flight).
 */
export function decideIdempotency(request: IdempotentRequest, state: IdempotencyState, now: Date): IdempotencyDecision {
  switch (state.status) {
    case 'free':
      return { action: 'claim' };
    case 'claimed': {
      const age = now.getTime() - new Date(state.claimedAt).getTime();
      if (age >= UNCOMPLETED_CLAIM_GRACE_MS) return { action: 'claim' };
      if (!sameRequest(request, state)) throw reusedIdempotencyKey();
      const retryAfter = Math.max(1, Math.ceil((UNCOMPLETED_CLAIM_GRACE_MS - age) / 1000));
      throw new KeyledgerError('CONFLICT', 'A request with this idempotency key is still in progress; retry shortly', {
        reason: 'IDEMPOTENCY_KEY_IN_PROGRESS',
        retryAfter,
      });
    }
    case 'completed':
      if (new Date(state.expiresAt).getTime() <= now.getTime()) return { action: 'claim' };
      if (!sameRequest(request, state)) throw reusedIdempotencyKey();
      return { action: 'replay', outcome: state.outcome, originalAt: state.completedAt };
  }
}

function sameRequest(request: IdempotentRequest, state: { operation: string; requestFingerprint: string }): boolean {
  return request.operation === state.operation && request.requestFingerprint === state.requestFingerprint;
}

/** The key was used for another request: other arguments, another mutation, or other secrets. */
export function reusedIdempotencyKey(): KeyledgerError {
  return new KeyledgerError('CONFLICT', 'This idempotency key was already used with a different request; use a new key for a new request', {
    reason: 'IDEMPOTENCY_KEY_REUSED',
  });
}
