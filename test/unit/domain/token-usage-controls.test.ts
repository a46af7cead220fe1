import { Role } from '../../../src/domain/access/roles';
import {
  decide,
  foldTokenEvents,
  MAX_META_BYTES,
  type IssueToken,
  type TokenDisabled,
  type TokenEnabled,
  type TokenIssued,
  type UpdateToken,
} from '../../../src/domain/tokens';
import { given, issueCommand, issued, NOW, revoked } from './token-given';

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

describe('token decider: meta and externalId', () => {
  const issueWith = (fields: Partial<IssueToken>) => issueCommand(fields);

  it('are in TokenIssued only when given', () => {
    const [withControls] = decide(issueWith({ meta: { plan: 'pro' }, externalId: 'org_1' }), foldTokenEvents([]), NOW) as TokenIssued[];
    expect(withControls.data).toMatchObject({ meta: { plan: 'pro' }, externalId: 'org_1' });
    const [plain] = decide(issueWith({}), foldTokenEvents([]), NOW) as TokenIssued[];
    expect(plain.data).not.toHaveProperty('meta');
    expect(plain.data).not.toHaveProperty('externalId');
  });

  it('meta must be a JSON object of at most 16 KB', () => {
    given([]).when(issueWith({ meta: [] as unknown as Record<string, unknown> })).thenThrows('BAD_USER_INPUT', /JSON object/);
    given([]).when(issueWith({ meta: { blob: 'x'.repeat(MAX_META_BYTES) } })).thenThrows('BAD_USER_INPUT', /16 KB/);
    given([issued()]).when(update({ meta: 'text' as unknown as Record<string, unknown> })).thenThrows('BAD_USER_INPUT', /JSON object/);
  });

  it('an update records meta only when it differs, whatever the key order', () => {
    given([issued({ meta: { a: 1, b: [1, { c: 2, d: 3 }] } })]).when(update({ meta: { b: [1, { d: 3, c: 2 }], a: 1 } })).then([]);
    given([issued({ meta: { a: 1 } })])
      .when(update({ meta: null, externalId: 'org_2' }))
      .then([{ type: 'TokenUpdated', data: { tokenId: 'tok_1', tenantId: 'acme', changes: { meta: null, externalId: 'org_2' }, updatedAt: NOW.toISOString() } }]);
  });

  it('externalId is 1-256 characters of an id alphabet', () => {
    given([]).when(issueWith({ externalId: 'x'.repeat(257) })).thenThrows('BAD_USER_INPUT', /externalId/);
    given([]).when(issueWith({ externalId: 'two words' })).thenThrows('BAD_USER_INPUT', /externalId/);
    given([issued()]).when(update({ externalId: '' })).thenThrows('BAD_USER_INPUT', /externalId/);
  });
});

describe('token decider: rate limits shared by an identity', () => {
  const shared = { name: 'per-customer', limit: 10, durationSeconds: 60, shared: true };
  const own = { name: 'per-customer', limit: 10, durationSeconds: 60 };

  it('records shared only when true, so unshared limits keep their shape', () => {
    const [event] = decide(issueCommand({ externalId: 'org_1', rateLimits: [shared, { ...own, name: 'burst', shared: false }] }), foldTokenEvents([]), NOW) as TokenIssued[];
    expect(event.data.rateLimits).toEqual([shared, { ...own, name: 'burst' }]);
  });

  it('a shared limit needs an externalId: at issue, when added, and when the externalId is cleared', () => {
    given([]).when(issueCommand({ rateLimits: [shared] })).thenThrows('BAD_USER_INPUT', /externalId/);
    given([issued()]).when(update({ rateLimits: [shared] })).thenThrows('BAD_USER_INPUT', /externalId/);
    given([issued({ externalId: 'org_1', rateLimits: [shared] })]).when(update({ externalId: null })).thenThrows('BAD_USER_INPUT', /externalId/);
    given([issued({ externalId: 'org_1', rateLimits: [shared] })])
      .when(update({ externalId: null, rateLimits: [own] }))
      .then([{ type: 'TokenUpdated', data: { tokenId: 'tok_1', tenantId: 'acme', changes: { rateLimits: [own], externalId: null }, updatedAt: NOW.toISOString() } }]);
  });

  it('turning sharing on or off is a change; the same list again is none', () => {
    given([issued({ externalId: 'org_1', rateLimits: [own] })])
      .when(update({ rateLimits: [shared] }))
      .then([{ type: 'TokenUpdated', data: { tokenId: 'tok_1', tenantId: 'acme', changes: { rateLimits: [shared] }, updatedAt: NOW.toISOString() } }]);
    given([issued({ externalId: 'org_1', rateLimits: [shared] })]).when(update({ rateLimits: [shared] })).then([]);
  });

  it('shared must be a boolean', () => {
    given([]).when(issueCommand({ externalId: 'org_1', rateLimits: [{ ...shared, shared: 'yes' as unknown as boolean }] })).thenThrows('BAD_USER_INPUT', /shared/);
  });
});
