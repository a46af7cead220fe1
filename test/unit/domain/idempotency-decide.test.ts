import { KeyledgerError } from '../../../src/domain/errors';
import {
  decideIdempotency,
  evolveIdempotency,
  initialIdempotencyState,
  UNCOMPLETED_CLAIM_GRACE_MS,
  type IdempotencyEvent,
  type IdempotencyState,
} from '../../../src/domain/idempotency';

const T0 = new Date('2026-01-01T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const request = { operation: 'issueToken', requestFingerprint: 'a'.repeat(64) };
const base = { keyId: 'k', tenantId: 'acme', operation: 'issueToken' };

const claimed: IdempotencyEvent = { type: 'IdempotencyKeyClaimed', data: { ...base, requestFingerprint: request.requestFingerprint, claimedAt: T0.toISOString() } };
const completed: IdempotencyEvent = {
  type: 'IdempotentRequestCompleted',
  data: { ...base, outcome: { type: 'token', id: 'tok_1' }, completedAt: at(1000).toISOString(), expiresAt: at(86_400_000).toISOString() },
};
const released: IdempotencyEvent = { type: 'IdempotencyKeyReleased', data: { ...base, releasedAt: at(1000).toISOString() } };
const fold = (...events: IdempotencyEvent[]): IdempotencyState => events.reduce(evolveIdempotency, initialIdempotencyState);

function refusal(run: () => unknown): Record<string, unknown> {
  try {
    run();
  } catch (error) {
    if (error instanceof KeyledgerError) return { code: error.code, ...error.details };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('decideIdempotency', () => {
  it('a new or released key is claimed', () => {
    expect(decideIdempotency(request, fold(), T0)).toEqual({ action: 'claim' });
    expect(decideIdempotency(request, fold(claimed, released), at(2000))).toEqual({ action: 'claim' });
  });

  it('a claim in flight is CONFLICT with the seconds left of its grace, then it may be claimed again', () => {
    expect(refusal(() => decideIdempotency(request, fold(claimed), at(15_000)))).toEqual({
      code: 'CONFLICT',
      reason: 'IDEMPOTENCY_KEY_IN_PROGRESS',
      retryAfter: 45,
    });
    expect(refusal(() => decideIdempotency(request, fold(claimed), at(UNCOMPLETED_CLAIM_GRACE_MS - 1)))).toMatchObject({ retryAfter: 1 });
    expect(decideIdempotency({ ...request, requestFingerprint: 'b'.repeat(64) }, fold(claimed), at(UNCOMPLETED_CLAIM_GRACE_MS))).toEqual({ action: 'claim' });
  });

  it('a completed request replays until it expires, and only for the same operation and arguments', () => {
    expect(decideIdempotency(request, fold(claimed, completed), at(86_399_999))).toEqual({
      action: 'replay',
      outcome: { type: 'token', id: 'tok_1' },
      originalAt: at(1000).toISOString(),
    });
    expect(refusal(() => decideIdempotency({ ...request, requestFingerprint: 'b'.repeat(64) }, fold(claimed, completed), at(2000)))).toEqual({
      code: 'CONFLICT',
      reason: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(refusal(() => decideIdempotency({ ...request, operation: 'revokeToken' }, fold(claimed, completed), at(2000)))).toMatchObject({
      reason: 'IDEMPOTENCY_KEY_REUSED',
    });
    expect(decideIdempotency({ ...request, requestFingerprint: 'b'.repeat(64) }, fold(claimed, completed), at(86_400_000))).toEqual({ action: 'claim' });
  });

  it('a completion that does not follow a claim changes nothing', () => {
    expect(fold(completed)).toEqual(initialIdempotencyState);
  });
});
