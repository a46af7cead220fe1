import {
  decide,
  evolve,
  foldTokenEvents,
  initialTokenState,
  type IssueToken,
  type TokenIssued,
  type TokenKind,
} from '../../../src/domain/tokens';
import { given, HASH, issueCommand, issued, LATER, NOW, revokeCommand, revoked, SEALED } from './token-given';

describe('token decider: IssueToken', () => {
  it('on an absent token, records every field of the command, with issuedAt = now', () => {
    given([])
      .when(issueCommand({ expiresAt: LATER, lookupTag: 'a1b2c3', origin: 'imported', secretHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' }))
      .then([
        {
          type: 'TokenIssued',
          data: {
            tokenId: 'tok_1',
            tenantId: 'acme',
            kind: 'API_TOKEN',
            name: 'billing bot',
            roles: ['billing:read'],
            expiresAt: '2030-01-20T08:30:00.000Z',
            display: 'klt_AbCd',
            secretHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
            lookupTag: 'a1b2c3',
            origin: 'imported',
            issuedAt: '2030-01-15T10:00:00.000Z',
          },
        },
      ]);
  });

  it('stores no expiry as null', () => {
    const [event] = given([]).when(issueCommand({ expiresAt: null })).then([issued({ issuedAt: NOW.toISOString() })]);
    expect((event as TokenIssued).data.expiresAt).toBeNull();
  });

  it('deduplicates and sorts roles, and trims the name', () => {
    given([])
      .when(issueCommand({ name: '  deploy bot \t', roles: ['ci:run', 'billing:read', 'ci:run', 'Alpha', 'billing:read'] }))
      .then([issued({ name: 'deploy bot', roles: ['Alpha', 'billing:read', 'ci:run'], issuedAt: NOW.toISOString() })]);
  });

  it('accepts an empty role list', () => {
    given([]).when(issueCommand({ roles: [] })).then([issued({ roles: [], issuedAt: NOW.toISOString() })]);
  });

  it.each<[TokenKind, Partial<IssueToken>, Partial<TokenIssued['data']>]>([
    ['API_TOKEN', {}, {}],
    ['WEBHOOK_TOKEN', { ownerId: 'ana@example.com' }, { ownerId: 'ana@example.com' }],
    ['INTEGRATION_KEY', { integrationId: 'int-1', sealedSecret: SEALED }, { integrationId: 'int-1', sealedSecret: SEALED }],
  ])('accepts kind %s with its required fields', (kind, fields, recorded) => {
    given([]).when(issueCommand({ kind, ...fields })).then([issued({ kind, ...recorded, issuedAt: NOW.toISOString() })]);
  });

  it('accepts an expiry one millisecond after now', () => {
    const expiresAt = new Date(NOW.getTime() + 1);
    given([]).when(issueCommand({ expiresAt })).then([issued({ expiresAt: '2030-01-15T10:00:00.001Z', issuedAt: NOW.toISOString() })]);
  });

  it('on an active token is a CONFLICT', () => {
    given([issued()]).when(issueCommand()).thenThrows('CONFLICT', /tok_1 already exists/);
  });

  it('on a revoked token is a CONFLICT, so an id is never reused', () => {
    given([issued(), revoked()]).when(issueCommand()).thenThrows('CONFLICT', /already exists/);
  });

  it.each([
    ['empty', ''],
    ['whitespace only', ' \t\n  '],
  ])('rejects a name that is %s', (_label, name) => {
    const error = given([]).when(issueCommand({ name })).thenThrows('BAD_USER_INPUT', /name must not be empty/);
    expect(error.details).toEqual({ field: 'name' });
  });

  it('accepts a 200-character name and rejects a 201-character one', () => {
    given([]).when(issueCommand({ name: 'n'.repeat(200) })).then([issued({ name: 'n'.repeat(200), issuedAt: NOW.toISOString() })]);
    given([]).when(issueCommand({ name: 'n'.repeat(201) })).thenThrows('BAD_USER_INPUT', /name must be at most 200 characters/);
  });

  it.each([
    ['NUL', 'a\u0000b'],
    ['line feed inside', 'line one\nline two'],
    ['escape', 'red \u001b[31m text'],
    ['DEL', 'del\u007fete'],
    ['tab inside', 'tab\tbed'],
  ])('rejects a name with a control character (%s)', (_label, name) => {
    given([]).when(issueCommand({ name })).thenThrows('BAD_USER_INPUT', /control characters/);
  });

  it('rejects an expiry in the past', () => {
    const error = given([])
      .when(issueCommand({ expiresAt: new Date(NOW.getTime() - 60_000) }))
      .thenThrows('BAD_USER_INPUT', /expiresAt must be in the future/);
    expect(error.details).toEqual({ field: 'expiresAt' });
  });

  it('rejects an expiry equal to now', () => {
    given([]).when(issueCommand({ expiresAt: new Date(NOW.getTime()) })).thenThrows('BAD_USER_INPUT', /expiresAt must be in the future/);
  });

  it('rejects an invalid expiry Date', () => {
    given([]).when(issueCommand({ expiresAt: new Date('not a date') })).thenThrows('BAD_USER_INPUT', /expiresAt is not a valid instant/);
  });

  it.each([
    ['empty', ''],
    ['leading space', ' acme'],
    ['leading dot', '.acme'],
    ['slash', 'acme/other'],
    ['space inside', 'ac me'],
    ['trailing newline', 'acme\n'],
    ['129 characters', 't'.repeat(129)],
  ])('rejects a tenant id that is %s', (_label, tenantId) => {
    const error = given([]).when(issueCommand({ tenantId })).thenThrows('BAD_USER_INPUT', /tenantId must be 1-128 characters/);
    expect(error.details).toEqual({ field: 'tenantId' });
  });

  it('rejects 51 distinct roles and accepts 50', () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `role${String(i).padStart(2, '0')}`);
    given([]).when(issueCommand({ roles: fifty })).then([issued({ roles: fifty, issuedAt: NOW.toISOString() })]);
    given([])
      .when(issueCommand({ roles: [...fifty, 'role50'] }))
      .thenThrows('BAD_USER_INPUT', /at most 50 roles/);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'billing read'],
    ['leading colon', ':admin'],
    ['leading dash', '-x'],
    ['with a newline', 'billing\nread'],
    ['101 characters', 'r'.repeat(101)],
    ['non-ASCII', 'rôle'],
  ])('rejects a role that is %s', (_label, role) => {
    const error = given([]).when(issueCommand({ roles: ['billing:read', role] })).thenThrows('BAD_USER_INPUT', /Each role must be/);
    expect(error.details).toEqual({ field: 'roles' });
  });

  it('rejects an unknown kind', () => {
    const error = given([])
      .when(issueCommand({ kind: 'SESSION_TOKEN' as TokenKind }))
      .thenThrows('BAD_USER_INPUT', /Unknown token kind SESSION_TOKEN/);
    expect(error.details).toEqual({ field: 'kind' });
  });

  it('puts into the event only what the command carried, so no secret can slip in', () => {
    const command = issueCommand({ expiresAt: LATER });
    const extended = { ...command, secret: 'klt_PLAINTEXT_SECRET', plaintext: 'p', password: 'pw' } as IssueToken;
    const [event] = decide(extended, initialTokenState, NOW) as TokenIssued[];
    expect(Object.keys(event).sort()).toEqual(['data', 'type']);
    expect(Object.keys(event.data).sort()).toEqual(
      ['display', 'expiresAt', 'issuedAt', 'kind', 'lookupTag', 'name', 'origin', 'roles', 'secretHash', 'tenantId', 'tokenId'],
    );
    expect(JSON.stringify(event)).not.toContain('PLAINTEXT');
    expect(JSON.stringify(event)).not.toMatch(/"(secret|plaintext|password)"/);
  });

  it('does not share the caller\'s roles array with the event', () => {
    const roles = ['b', 'a'];
    const [event] = decide(issueCommand({ roles }), initialTokenState, NOW) as TokenIssued[];
    roles.push('keyledger:root');
    expect(event.data.roles).toEqual(['a', 'b']);
  });
});

describe('token decider: RevokeToken', () => {
  it('on an absent token is NOT_FOUND', () => {
    given([]).when(revokeCommand({ tokenId: 'tok_missing' })).thenThrows('NOT_FOUND', /tok_missing not found/);
  });

  it('on an active token records TokenRevoked with the trimmed reason and revokedAt = now', () => {
    given([issued()])
      .when(revokeCommand({ reason: '  leaked in CI logs \n' }), LATER)
      .then([{ type: 'TokenRevoked', data: { tokenId: 'tok_1', tenantId: 'acme', reason: 'leaked in CI logs', revokedAt: '2030-01-20T08:30:00.000Z' } }]);
  });

  it.each([
    ['null', null],
    ['empty', ''],
    ['whitespace', '   '],
  ])('stores a %s reason as null', (_label, reason) => {
    given([issued()]).when(revokeCommand({ reason })).then([revoked({ reason: null, revokedAt: NOW.toISOString() })]);
  });

  it('takes tenant and token id from the state, not from anything else', () => {
    given([issued({ tokenId: 'tok_1', tenantId: 'globex' })])
      .when(revokeCommand({ tokenId: 'tok_1' }))
      .then([revoked({ tenantId: 'globex', revokedAt: NOW.toISOString() })]);
  });

  it('on a revoked token produces no events, so retries are safe', () => {
    given([issued(), revoked()]).when(revokeCommand({ reason: 'again' }), LATER).then([]);
  });

  it('accepts a 500-character reason and rejects a 501-character one', () => {
    given([issued()]).when(revokeCommand({ reason: 'r'.repeat(500) })).then([revoked({ reason: 'r'.repeat(500), revokedAt: NOW.toISOString() })]);
    const error = given([issued()]).when(revokeCommand({ reason: 'r'.repeat(501) })).thenThrows('BAD_USER_INPUT', /reason must be at most 500 characters/);
    expect(error.details).toEqual({ field: 'reason' });
  });
});

describe('token state: evolve and fold', () => {
  it('starts absent', () => {
    expect(initialTokenState).toEqual({ status: 'absent' });
    expect(foldTokenEvents([])).toEqual({ status: 'absent' });
  });

  it('TokenIssued makes an active token with the issued fields', () => {
    const state = evolve(initialTokenState, issued({ expiresAt: '2031-01-01T00:00:00.000Z', roles: ['a', 'b'] }));
    expect(state).toEqual({
      status: 'active',
      tokenId: 'tok_1',
      tenantId: 'acme',
      kind: 'API_TOKEN',
      name: 'billing bot',
      roles: ['a', 'b'],
      expiresAt: '2031-01-01T00:00:00.000Z',
      revokedAt: null,
      code: null,
      botName: null,
      avatarUrl: null,
      ownerId: null,
      integrationId: null,
      enabled: true,
      meta: null,
      externalId: null,
      credits: null,
      rateLimits: [],
    });
  });

  it('keeps no secret material in state', () => {
    const state = evolve(initialTokenState, issued());
    expect(state).not.toHaveProperty('secretHash');
    expect(state).not.toHaveProperty('lookupTag');
    expect(JSON.stringify(state)).not.toContain(HASH);
  });

  it('TokenRevoked turns active into revoked, keeping the other fields', () => {
    const active = evolve(initialTokenState, issued());
    const state = evolve(active, revoked({ revokedAt: '2030-02-02T00:00:00.000Z' }));
    expect(state).toEqual({ ...active, status: 'revoked', revokedAt: '2030-02-02T00:00:00.000Z' });
  });

  it('TokenRevoked on an absent token leaves it absent', () => {
    expect(evolve(initialTokenState, revoked())).toEqual({ status: 'absent' });
  });

  it('does not mutate the state it is given', () => {
    const active = evolve(initialTokenState, issued());
    const snapshot = JSON.parse(JSON.stringify(active));
    evolve(active, revoked());
    expect(active).toEqual(snapshot);
    expect(initialTokenState).toEqual({ status: 'absent' });
  });

  it('a decided IssueToken folds back into an active state, and a decided revoke into revoked', () => {
    const history = decide(issueCommand({ roles: ['z', 'a'] }), initialTokenState, NOW);
    const active = foldTokenEvents(history);
    expect(active).toMatchObject({ status: 'active', roles: ['a', 'z'], revokedAt: null });
    const more = decide(revokeCommand(), active, LATER);
    expect(foldTokenEvents([...history, ...more])).toMatchObject({ status: 'revoked', revokedAt: LATER.toISOString() });
  });
});
