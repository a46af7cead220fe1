import { KeyledgerError } from '../../../src/domain/errors';
import {
  decideClaim,
  evolveClaim,
  foldClaimEvents,
  holdersToAbandon,
  initialClaimState,
  integrationKeysStreamId,
  MAX_ACTIVE_KEYS_PER_INTEGRATION,
  standingOf,
  tokenCodeStreamId,
  UNCONFIRMED_CLAIM_GRACE_MS,
  type HolderStanding,
  type ReserveTokenCode,
  type TakeIntegrationKeySlot,
  type TokenClaimEvent,
} from '../../../src/domain/token-claims';
import { foldTokenEvents, initialTokenState } from '../../../src/domain/tokens';
import { expectDomainError, issued, NOW, revoked } from './token-given';

const EARLIER = '2030-01-15T09:00:00.000Z';

const reserved = (tokenId: string, reservedAt = EARLIER): TokenClaimEvent => ({
  type: 'TokenCodeReserved',
  data: { tenantId: 'acme', code: 'Billing', tokenId, reservedAt },
});
const codeReleased = (tokenId: string): TokenClaimEvent => ({
  type: 'TokenCodeReleased',
  data: { tenantId: 'acme', code: 'Billing', tokenId, releasedAt: NOW.toISOString() },
});
const taken = (tokenId: string): TokenClaimEvent => ({
  type: 'IntegrationKeySlotTaken',
  data: { tenantId: 'acme', integrationId: 'int-1', tokenId, takenAt: EARLIER },
});
const slotReleased = (tokenId: string): TokenClaimEvent => ({
  type: 'IntegrationKeySlotReleased',
  data: { tenantId: 'acme', integrationId: 'int-1', tokenId, releasedAt: NOW.toISOString() },
});

function reserve(standings: Record<string, HolderStanding> = {}, tokenId = 'tok_new'): ReserveTokenCode {
  return { type: 'ReserveTokenCode', tenantId: 'acme', code: 'Billing', tokenId, standings };
}
function take(standings: Record<string, HolderStanding> = {}, tokenId = 'tok_new'): TakeIntegrationKeySlot {
  return { type: 'TakeIntegrationKeySlot', tenantId: 'acme', integrationId: 'int-1', tokenId, standings };
}

function given(events: readonly TokenClaimEvent[]) {
  const state = foldClaimEvents(events);
  return {
    when(command: ReserveTokenCode | TakeIntegrationKeySlot) {
      return {
        then: (expected: TokenClaimEvent[]) => expect(decideClaim(command, state, NOW)).toEqual(expected),
        thenThrows: (message: RegExp): KeyledgerError => expectDomainError(() => decideClaim(command, state, NOW), 'CONFLICT', message),
      };
    },
  };
}

const tenKeys = Array.from({ length: MAX_ACTIVE_KEYS_PER_INTEGRATION }, (_, i) => taken(`tok_${i}`));

describe('token claims: ReserveTokenCode', () => {
  it('on a free code reserves it for the new token', () => {
    given([]).when(reserve()).then([{ type: 'TokenCodeReserved', data: { tenantId: 'acme', code: 'Billing', tokenId: 'tok_new', reservedAt: NOW.toISOString() } }]);
  });

  it.each<HolderStanding>(['live', 'pending', 'stale'])('is a CONFLICT while the holder is %s', (standing) => {
    given([reserved('tok_a')]).when(reserve({ tok_a: standing })).thenThrows(/"Billing" is already used by another token in tenant acme/);
  });

  it('counts a holder whose standing is unknown as live', () => {
    given([reserved('tok_a')]).when(reserve()).thenThrows(/already used/);
  });

  it('releases an ended holder and reserves in the same append', () => {
    given([reserved('tok_a')])
      .when(reserve({ tok_a: 'ended' }))
      .then([codeReleased('tok_a'), { type: 'TokenCodeReserved', data: { tenantId: 'acme', code: 'Billing', tokenId: 'tok_new', reservedAt: NOW.toISOString() } }]);
  });

  it('reserving again for the holder is a no-op, so a retried issue is safe', () => {
    given([reserved('tok_new')]).when(reserve()).then([]);
  });

  it('a released code is free again', () => {
    given([reserved('tok_a'), codeReleased('tok_a')]).when(reserve()).then([
      { type: 'TokenCodeReserved', data: { tenantId: 'acme', code: 'Billing', tokenId: 'tok_new', reservedAt: NOW.toISOString() } },
    ]);
  });
});

describe('token claims: TakeIntegrationKeySlot', () => {
  it('takes a slot while fewer than 10 are held', () => {
    given(tenKeys.slice(0, 9)).when(take()).then([
      { type: 'IntegrationKeySlotTaken', data: { tenantId: 'acme', integrationId: 'int-1', tokenId: 'tok_new', takenAt: NOW.toISOString() } },
    ]);
  });

  it('is a CONFLICT with 10 live keys', () => {
    given(tenKeys).when(take()).thenThrows(/Integration int-1 already has 10 active keys/);
  });

  it('releases the ended holders when full and takes a slot', () => {
    given(tenKeys)
      .when(take({ tok_3: 'ended', tok_7: 'ended' }))
      .then([
        slotReleased('tok_3'),
        slotReleased('tok_7'),
        { type: 'IntegrationKeySlotTaken', data: { tenantId: 'acme', integrationId: 'int-1', tokenId: 'tok_new', takenAt: NOW.toISOString() } },
      ]);
  });

  it('counts pending holders: an issue in flight keeps its slot', () => {
    const standings = Object.fromEntries(tenKeys.map((_, i) => [`tok_${i}`, i === 0 ? 'pending' : 'live'])) as Record<string, HolderStanding>;
    given(tenKeys).when(take(standings)).thenThrows(/already has 10 active keys/);
  });
});

describe('token claims: holdersToAbandon', () => {
  const state = foldClaimEvents([reserved('tok_a')]);

  it('names stale holders only when the claim is full', () => {
    expect(holdersToAbandon(state, { tok_a: 'stale' }, 1)).toEqual(['tok_a']);
    expect(holdersToAbandon(foldClaimEvents(tenKeys.slice(0, 2)), { tok_0: 'stale' }, 10)).toEqual([]);
  });

  it('abandons nothing that is live, pending or ended', () => {
    for (const standing of ['live', 'pending', 'ended'] as const) expect(holdersToAbandon(state, { tok_a: standing }, 1)).toEqual([]);
  });

  it('does not count ended holders toward the capacity', () => {
    const two = foldClaimEvents([taken('tok_a'), taken('tok_b')]);
    expect(holdersToAbandon(two, { tok_a: 'ended', tok_b: 'stale' }, 2)).toEqual([]);
  });
});

describe('token claims: standingOf', () => {
  const holder = { tokenId: 'tok_1', since: EARLIER };

  it('an absent token is pending within the grace period and stale after it', () => {
    const since = new Date(NOW.getTime() - UNCONFIRMED_CLAIM_GRACE_MS + 1).toISOString();
    expect(standingOf(initialTokenState, { ...holder, since }, NOW)).toBe('pending');
    const exactly = new Date(NOW.getTime() - UNCONFIRMED_CLAIM_GRACE_MS).toISOString();
    expect(standingOf(initialTokenState, { ...holder, since: exactly }, NOW)).toBe('stale');
  });

  it('an active token is live, and ended once expired; revoked and abandoned ones are ended', () => {
    expect(standingOf(foldTokenEvents([issued()]), holder, NOW)).toBe('live');
    expect(standingOf(foldTokenEvents([issued({ expiresAt: NOW.toISOString() })]), holder, NOW)).toBe('ended');
    expect(standingOf(foldTokenEvents([issued(), revoked()]), holder, NOW)).toBe('ended');
    expect(standingOf({ status: 'abandoned', tokenId: 'tok_1' }, holder, NOW)).toBe('ended');
  });
});

describe('token claims: state and streams', () => {
  it('folds claims and releases, ignoring a repeated claim', () => {
    expect(foldClaimEvents([taken('tok_a'), taken('tok_b'), taken('tok_a'), slotReleased('tok_a')])).toEqual({
      holders: [{ tokenId: 'tok_b', since: EARLIER }],
    });
    expect(evolveClaim(initialClaimState, codeReleased('tok_x'))).toEqual({ holders: [] });
  });

  it('names streams so that different tenant/code pairs never collide, and codes compare case-insensitively', () => {
    expect(tokenCodeStreamId('acme', 'Billing')).toBe('token-code-acme/billing');
    expect(tokenCodeStreamId('a-b', 'c')).not.toBe(tokenCodeStreamId('a', 'b-c'));
    expect(integrationKeysStreamId('acme', 'int-1')).toBe('integration-keys-acme/int-1');
  });
});
