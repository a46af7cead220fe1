import type { RecordedEvent } from '../../../src/eventstore/port';
import { PrincipalCache } from '../../../src/app/credentials/principal-cache';
import type { Principal } from '../../../src/app/request-context';

const CALLER: Principal = { id: 'tok_caller', tenantId: 'acme', roles: ['keyledger:tokens:write'], type: 'token' };

/** A cache over a full check that counts its calls, fed by a hand-driven event feed. */
function cacheWithFeed() {
  let checks = 0;
  let deliver: (events: readonly RecordedEvent[]) => void = () => {};
  const cache = new PrincipalCache({
    authenticate: async () => {
      checks += 1;
      return { ...CALLER, roles: [...CALLER.roles] };
    },
    lockedFor: async () => null,
    recordUse: () => {},
    validUntilOf: () => Number.POSITIVE_INFINITY,
    events: {
      onEvents(listener) {
        deliver = listener;
        return () => {};
      },
    },
    readModelVersion: () => 1,
    clock: { now: () => new Date(Date.UTC(2030, 0, 15)) },
  });
  return { cache, checks: () => checks, apply: (...events: RecordedEvent[]) => deliver(events) };
}

let position = 0n;
function applied(type: string, data: Record<string, unknown>): RecordedEvent {
  position += 1n;
  return {
    id: `event-${position}`,
    streamId: `token-${String(data.tokenId)}`,
    revision: 0,
    position,
    type,
    data,
    metadata: { actor: { type: 'token', id: CALLER.id, tenantId: 'acme' }, requestId: 'req', occurredAt: '2030-01-15T00:00:00.000Z' },
    recordedAt: new Date(Date.UTC(2030, 0, 15)),
  } as RecordedEvent;
}

describe('PrincipalCache', () => {
  it('keeps a caller across the issue of tokens with generated secrets', async () => {
    const { cache, checks, apply } = cacheWithFeed();
    await cache.authenticate('klt_caller-secret');
    apply(applied('TokenIssued', { tokenId: 'tok_new', tenantId: 'acme', origin: 'generated', secretHash: 'hmac-sha256$00' }));
    apply(applied('TokenIssued', { tokenId: 'tok_key', tenantId: 'acme', origin: 'generated', secretHash: 'hmac-sha256$01' }));
    expect(await cache.authenticate('klt_caller-secret')).toEqual(CALLER);
    expect(checks()).toBe(1);
  });

  it('checks the caller again after the issue of a chosen secret, which could be the caller’s own', async () => {
    const { cache, checks, apply } = cacheWithFeed();
    await cache.authenticate('my-chosen-secret-0123456789');
    apply(applied('TokenIssued', { tokenId: 'tok_import', tenantId: 'other', origin: 'imported', secretHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y' }));
    await cache.authenticate('my-chosen-secret-0123456789');
    expect(checks()).toBe(2);
  });

  it('checks the caller again after any other token event', async () => {
    for (const type of ['TokenUpdated', 'TokenRotated', 'TokenRevoked', 'TokenDisabled', 'TokenEnabled', 'TokenIssueAbandoned']) {
      const { cache, checks, apply } = cacheWithFeed();
      await cache.authenticate('klt_caller-secret');
      apply(applied(type, { tokenId: 'tok_other', tenantId: 'acme' }));
      await cache.authenticate('klt_caller-secret');
      expect(checks()).toBe(2);
    }
  });
});
