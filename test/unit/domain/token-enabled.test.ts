import { Role } from '../../../src/domain/access/roles';
import { foldTokenEvents, type TokenDisabled, type TokenEnabled, type UpdateToken } from '../../../src/domain/tokens';
import { given, issued, NOW, revoked } from './token-given';

const update = (changes: UpdateToken['changes']): UpdateToken => ({ type: 'UpdateToken', tokenId: 'tok_1', changes, grantorRoles: [Role.admin] });
const disabled: TokenDisabled = { type: 'TokenDisabled', data: { tokenId: 'tok_1', tenantId: 'acme', disabledAt: NOW.toISOString() } };
const enabled: TokenEnabled = { type: 'TokenEnabled', data: { tokenId: 'tok_1', tenantId: 'acme', enabledAt: NOW.toISOString() } };

describe('token decider: pausing and resuming through UpdateToken', () => {
  it('a token is issued enabled', () => {
    expect(foldTokenEvents([issued()])).toMatchObject({ status: 'active', enabled: true });
  });

  it('enabled: false pauses an enabled token with a TokenDisabled', () => {
    given([issued()]).when(update({ enabled: false })).then([disabled]);
  });

  it('enabled: true resumes a paused token with a TokenEnabled', () => {
    given([issued(), disabled]).when(update({ enabled: true })).then([enabled]);
  });

  it('asking for the state the token is in records nothing', () => {
    given([issued()]).when(update({ enabled: true })).then([]);
    given([issued(), disabled]).when(update({ enabled: false })).then([]);
  });

  it('other changes come first, in their own TokenUpdated', () => {
    given([issued()])
      .when(update({ name: 'paused bot', enabled: false }))
      .then([{ type: 'TokenUpdated', data: { tokenId: 'tok_1', tenantId: 'acme', changes: { name: 'paused bot' }, updatedAt: NOW.toISOString() } }, disabled]);
  });

  it('a revoked token can be neither paused nor resumed', () => {
    given([issued(), revoked()]).when(update({ enabled: false })).thenThrows('CONFLICT', /revoked/);
    given([issued(), disabled, revoked()]).when(update({ enabled: true })).thenThrows('CONFLICT', /revoked/);
  });

  it('folds into the state', () => {
    expect(foldTokenEvents([issued(), disabled])).toMatchObject({ enabled: false });
    expect(foldTokenEvents([issued(), disabled, enabled])).toMatchObject({ enabled: true });
  });
});
