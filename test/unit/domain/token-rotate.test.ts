import { MAX_GRACE_PERIOD_SECONDS, type RotateToken } from '../../../src/domain/tokens';
import { given, issued, NEW_HASH, NOW, revoked, rotated, SEALED } from './token-given';

function rotateCommand(overrides: Partial<RotateToken> = {}): RotateToken {
  return { type: 'RotateToken', tokenId: 'tok_1', gracePeriodSeconds: 3600, display: 'klt_WxYz', secretHash: NEW_HASH, sealedSecret: null, ...overrides };
}

describe('token decider: RotateToken', () => {
  it('records the new secret hash and when earlier secrets stop verifying', () => {
    given([issued()]).when(rotateCommand()).then([rotated()]);
  });

  it('a grace period of 0 ends earlier secrets at the rotation instant', () => {
    given([issued()]).when(rotateCommand({ gracePeriodSeconds: 0 })).then([rotated({ previousSecretsValidUntil: NOW.toISOString() })]);
  });

  it('accepts 30 days and refuses one second more', () => {
    given([issued()])
      .when(rotateCommand({ gracePeriodSeconds: MAX_GRACE_PERIOD_SECONDS }))
      .then([rotated({ previousSecretsValidUntil: '2030-02-14T10:00:00.000Z' })]);
    const error = given([issued()])
      .when(rotateCommand({ gracePeriodSeconds: MAX_GRACE_PERIOD_SECONDS + 1 }))
      .thenThrows('BAD_USER_INPUT', /gracePeriodSeconds must be a whole number from 0 to 2592000 \(30 days\)/);
    expect(error.details).toEqual({ field: 'gracePeriodSeconds' });
  });

  it.each([-1, 1.5, Number.NaN])('refuses a grace period of %s', (gracePeriodSeconds) => {
    given([issued()]).when(rotateCommand({ gracePeriodSeconds })).thenThrows('BAD_USER_INPUT', /gracePeriodSeconds/);
  });

  it('makes an imported token a generated one', () => {
    given([issued({ origin: 'imported', lookupTag: 'a1b2c3', secretHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' })])
      .when(rotateCommand())
      .then([rotated()]);
  });

  it('an integration key rotates to a new sealed secret', () => {
    given([issued({ kind: 'INTEGRATION_KEY', integrationId: 'i', sealedSecret: SEALED })])
      .when(rotateCommand({ sealedSecret: { dataKeyId: 'tok_1', ciphertext: 'v1.bmV3' } }))
      .then([rotated({ sealedSecret: { dataKeyId: 'tok_1', ciphertext: 'v1.bmV3' } })]);
  });

  it('a sealed secret for another kind, or none for an integration key, is a programming error', () => {
    expect(() => given([issued()]).when(rotateCommand({ sealedSecret: SEALED })).then([])).toThrow(/only an integration key/);
    expect(() =>
      given([issued({ kind: 'INTEGRATION_KEY', integrationId: 'i', sealedSecret: SEALED })]).when(rotateCommand()).then([]),
    ).toThrow(/only an integration key/);
  });

  it('on an absent token is NOT_FOUND, on a revoked one a CONFLICT, on an expired one a CONFLICT', () => {
    given([]).when(rotateCommand()).thenThrows('NOT_FOUND', /not found/);
    given([issued(), revoked()]).when(rotateCommand()).thenThrows('CONFLICT', /revoked/);
    given([issued({ expiresAt: NOW.toISOString() })]).when(rotateCommand()).thenThrows('CONFLICT', /expired/);
  });
});

describe('token decider: AbandonTokenIssue', () => {
  const abandon = { type: 'AbandonTokenIssue' as const, tokenId: 'tok_1', tenantId: 'acme' };

  it('takes a stream that was never written', () => {
    given([]).when(abandon).then([{ type: 'TokenIssueAbandoned', data: { tokenId: 'tok_1', tenantId: 'acme', abandonedAt: NOW.toISOString() } }]);
  });

  it('changes nothing once the token was issued, so a late abandonment cannot undo an issue', () => {
    given([issued()]).when(abandon).then([]);
    given([issued(), revoked()]).when(abandon).then([]);
  });

  it('an abandoned token can never be issued, revoked or rotated', () => {
    const history = [{ type: 'TokenIssueAbandoned' as const, data: { tokenId: 'tok_1', tenantId: 'acme', abandonedAt: NOW.toISOString() } }];
    given(history).when(abandon).then([]);
    given(history).when({ type: 'RevokeToken', tokenId: 'tok_1', reason: null }).thenThrows('NOT_FOUND', /not found/);
    given(history).when(rotateCommand()).thenThrows('NOT_FOUND', /not found/);
  });
});
