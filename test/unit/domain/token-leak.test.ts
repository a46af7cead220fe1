import { LEAKED_REASON } from '../../../src/domain/tokens';
import { given, issued, LATER, revokeCommand, revoked } from './token-given';

describe('token decider: a revocation for a leak', () => {
  const leak = { source: 'github', url: 'https://github.com/o/r/blob/1/.env' };

  it('records the reason leaked and where the secret was found', () => {
    given([issued()])
      .when(revokeCommand({ reason: 'whatever the caller said', leak }), LATER)
      .then([{ type: 'TokenRevoked', data: { tokenId: 'tok_1', tenantId: 'acme', reason: LEAKED_REASON, revokedAt: LATER.toISOString(), leak } }]);
  });

  it('keeps a report without a location', () => {
    given([issued()])
      .when(revokeCommand({ leak: { source: 'public', url: null } }), LATER)
      .then([revoked({ reason: 'leaked', revokedAt: LATER.toISOString(), leak: { source: 'public', url: null } })]);
  });

  it('writes nothing for a token already revoked', () => {
    given([issued(), revoked()]).when(revokeCommand({ leak }), LATER).then([]);
  });

  it.each([
    ['a source that is no name', { source: 'GitHub Inc.', url: null }, 'source'],
    ['a location that is no http(s) URL', { source: 'github', url: 'javascript:alert(1)' }, 'url'],
    ['a location with control characters', { source: 'github', url: 'https://x.example/\u0000' }, 'url'],
    ['an overlong location', { source: 'github', url: `https://x.example/${'a'.repeat(2048)}` }, 'url'],
  ])('refuses %s', (_name, badLeak, field) => {
    const error = given([issued()]).when(revokeCommand({ leak: badLeak })).thenThrows('BAD_USER_INPUT', /leak/);
    expect(error.details).toEqual({ field });
  });
});
