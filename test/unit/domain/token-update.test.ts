import { Role } from '../../../src/domain/access/roles';
import { evolve, foldTokenEvents, type TokenUpdated, type UpdateToken } from '../../../src/domain/tokens';
import { given, issued, LATER, NOW, revoked } from './token-given';

const ADMIN = [Role.admin];

function updateCommand(changes: UpdateToken['changes'], grantorRoles: readonly string[] = ADMIN): UpdateToken {
  return { type: 'UpdateToken', tokenId: 'tok_1', changes, grantorRoles };
}

const updated = (changes: TokenUpdated['data']['changes'], updatedAt = NOW.toISOString()): TokenUpdated => ({
  type: 'TokenUpdated',
  data: { tokenId: 'tok_1', tenantId: 'acme', changes, updatedAt },
});

const apiToken = issued({ code: 'billing', botName: 'Billing', avatarUrl: 'https://cdn.example.com/a.png' });

describe('token decider: UpdateToken', () => {
  it('on an absent or abandoned token is NOT_FOUND', () => {
    given([]).when(updateCommand({ name: 'x' })).thenThrows('NOT_FOUND', /tok_1 not found/);
    given([{ type: 'TokenIssueAbandoned', data: { tokenId: 'tok_1', tenantId: 'acme', abandonedAt: '2030-01-01T00:00:00.000Z' } }])
      .when(updateCommand({ name: 'x' }))
      .thenThrows('NOT_FOUND', /tok_1 not found/);
  });

  it('on a revoked token is a CONFLICT', () => {
    given([apiToken, revoked()]).when(updateCommand({ name: 'x' })).thenThrows('CONFLICT', /revoked and can no longer be changed/);
  });

  it('on an expired token is a CONFLICT, so an expiry cannot be undone', () => {
    given([issued({ expiresAt: '2030-01-15T09:59:59.999Z' })])
      .when(updateCommand({ expiresAt: LATER }))
      .thenThrows('CONFLICT', /has expired/);
  });

  it('records only the fields that change', () => {
    given([apiToken])
      .when(updateCommand({ name: 'billing bot', roles: ['billing:read', 'billing:write'], botName: 'Billing', avatarUrl: 'https://cdn.example.com/b.png' }))
      .then([updated({ roles: ['billing:read', 'billing:write'], avatarUrl: 'https://cdn.example.com/b.png' })]);
  });

  it('records nothing when nothing changes, so a repeated update appends nothing', () => {
    given([apiToken]).when(updateCommand({ name: ' billing bot ', roles: ['billing:read', 'billing:read'], botName: 'Billing' })).then([]);
    given([apiToken]).when(updateCommand({})).then([]);
  });

  it('renames, trimming the name', () => {
    given([apiToken]).when(updateCommand({ name: '  payments bot ' })).then([updated({ name: 'payments bot' })]);
  });

  it('clears the bot identity and the expiry with null', () => {
    given([issued({ botName: 'Billing', avatarUrl: 'https://a.example/x.png', expiresAt: LATER.toISOString() })])
      .when(updateCommand({ botName: null, avatarUrl: null, expiresAt: null }))
      .then([updated({ botName: null, avatarUrl: null, expiresAt: null })]);
  });

  it('sets a future expiry and refuses a past one', () => {
    given([apiToken]).when(updateCommand({ expiresAt: LATER })).then([updated({ expiresAt: LATER.toISOString() })]);
    given([apiToken]).when(updateCommand({ expiresAt: new Date(NOW.getTime() - 1) })).thenThrows('BAD_USER_INPUT', /expiresAt must be in the future/);
  });

  it('validates like issue does', () => {
    given([apiToken]).when(updateCommand({ name: '' })).thenThrows('BAD_USER_INPUT', /name must not be empty/);
    given([apiToken]).when(updateCommand({ roles: ['bad role'] })).thenThrows('BAD_USER_INPUT', /Each role must be/);
    given([apiToken]).when(updateCommand({ avatarUrl: 'http://x.example/a.png' })).thenThrows('BAD_USER_INPUT', /avatarUrl must use https/);
    given([apiToken]).when(updateCommand({ botName: 'b'.repeat(101) })).thenThrows('BAD_USER_INPUT', /botName must be at most 100/);
  });

  it('refuses an unknown keyledger role', () => {
    given([apiToken]).when(updateCommand({ roles: ['keyledger:tokens:wirte'] })).thenThrows('BAD_USER_INPUT', /Unknown keyledger role/);
  });

  it.each([['WEBHOOK_TOKEN', { ownerId: 'ana' }], ['INTEGRATION_KEY', { integrationId: 'i' }]] as const)(
    'refuses a bot identity on a %s',
    (kind, fields) => {
      given([issued({ kind, ...fields })]).when(updateCommand({ botName: 'x' })).thenThrows('BAD_USER_INPUT', /apply only to API_TOKEN/);
      given([issued({ kind, ...fields })]).when(updateCommand({ avatarUrl: null })).thenThrows('BAD_USER_INPUT', /apply only to API_TOKEN/);
    },
  );

  describe('no escalation', () => {
    const writer = [Role.tokensWrite];

    it('a caller cannot add a keyledger role it does not hold', () => {
      given([apiToken])
        .when(updateCommand({ roles: ['billing:read', Role.admin] }, writer))
        .thenThrows('FORBIDDEN', /cannot grant or withdraw role\(s\) you do not hold: keyledger:admin/);
    });

    it('a caller cannot remove a keyledger role it does not hold', () => {
      given([issued({ roles: [Role.auditRead, 'billing:read'] })])
        .when(updateCommand({ roles: ['billing:read'] }, writer))
        .thenThrows('FORBIDDEN', /keyledger:audit:read/);
    });

    it('a caller can add and remove keyledger roles it holds, implied ones included, and any tenant role', () => {
      given([issued({ roles: [Role.tokensWrite, 'billing:read'] })])
        .when(updateCommand({ roles: [Role.tokensRead, 'orders:write'] }, writer))
        .then([updated({ roles: [Role.tokensRead, 'orders:write'] })]);
    });

    it('keeping a role the caller lacks is not granting it', () => {
      given([issued({ roles: [Role.auditRead] })])
        .when(updateCommand({ roles: [Role.auditRead, 'billing:read'] }, writer))
        .then([updated({ roles: ['billing:read', Role.auditRead] })]);
    });
  });

  it('folds into the state, leaving other fields alone', () => {
    const before = foldTokenEvents([apiToken]);
    const after = evolve(before, updated({ name: 'renamed', botName: null }));
    expect(after).toEqual({ ...before, name: 'renamed', botName: null });
  });
});
