import { partnersProjection } from '../../../projections/partners';
import type { AccessTokenIssued, AccessTokenRevoked, PartnerCredentialCreated, PartnerCredentialRevoked } from '../../../src/domain/partners/events';
import { given } from './projection-given';

const credentialCreated = (overrides: Partial<PartnerCredentialCreated['data']> = {}) => ({
  type: 'PartnerCredentialCreated',
  data: {
    credentialId: 'pc_1',
    tenantId: 'acme',
    name: 'zipteams',
    subTenantIds: ['north', 'south'],
    apiKey: 'klp_AbCd',
    secretDisplay: 'klps_…WxYz',
    secretHash: 'hmac-sha256$' + 'ab'.repeat(32),
    createdAt: '2030-01-01T00:00:00.000Z',
    ...overrides,
  } satisfies PartnerCredentialCreated['data'],
});

const credentialRevoked = (overrides: Partial<PartnerCredentialRevoked['data']> = {}) => ({
  type: 'PartnerCredentialRevoked',
  data: { credentialId: 'pc_1', tenantId: 'acme', reason: 'rotated out', revokedAt: '2030-01-05T00:00:00.000Z', ...overrides } satisfies PartnerCredentialRevoked['data'],
});

const tokenIssued = (overrides: Partial<AccessTokenIssued['data']> = {}) => ({
  type: 'AccessTokenIssued',
  data: {
    jti: 'jti_1',
    credentialId: 'pc_1',
    tenantId: 'acme',
    subTenantId: 'north',
    kid: 'key_1',
    issuer: 'https://keyledger.example',
    issuedAt: '2030-01-02T00:00:00.000Z',
    expiresAt: '2030-01-03T00:00:00.000Z',
    ...overrides,
  } satisfies AccessTokenIssued['data'],
});

const tokenRevoked = (overrides: Partial<AccessTokenRevoked['data']> = {}) => ({
  type: 'AccessTokenRevoked',
  data: {
    jti: 'jti_1',
    credentialId: 'pc_1',
    tenantId: 'acme',
    subTenantId: 'north',
    expiresAt: '2030-01-03T00:00:00.000Z',
    reason: 'logout',
    revokedAt: '2030-01-02T12:00:00.000Z',
    ...overrides,
  } satisfies AccessTokenRevoked['data'],
});

describe('partners projection', () => {
  it('given PartnerCredentialCreated, then one credential row with its subtenants as JSON', () => {
    given(partnersProjection, [credentialCreated()]).then(
      'partner_credentials',
      ['id', 'tenant_id', 'name', 'sub_tenant_ids', 'api_key', 'secret_display', 'created_at', 'updated_at', 'revoked_at'],
      [
        {
          id: 'pc_1',
          tenant_id: 'acme',
          name: 'zipteams',
          sub_tenant_ids: '["north","south"]',
          api_key: 'klp_AbCd',
          secret_display: 'klps_…WxYz',
          created_at: '2030-01-01T00:00:00.000Z',
          updated_at: '2030-01-01T00:00:00.000Z',
          revoked_at: null,
        },
      ],
    );
  });

  it('given PartnerCredentialRevoked twice, then the first revocation is the one recorded', () => {
    given(partnersProjection, [credentialCreated(), credentialRevoked(), credentialRevoked({ reason: 'again', revokedAt: '2030-01-06T00:00:00.000Z' })]).then(
      'partner_credentials',
      ['revoked_at', 'revoke_reason', 'updated_at'],
      [{ revoked_at: '2030-01-05T00:00:00.000Z', revoke_reason: 'rotated out', updated_at: '2030-01-05T00:00:00.000Z' }],
    );
  });

  it('given AccessTokenIssued, then one access token row', () => {
    given(partnersProjection, [credentialCreated(), tokenIssued()]).then(
      'partner_access_tokens',
      ['jti', 'credential_id', 'tenant_id', 'sub_tenant_id', 'kid', 'issued_at', 'expires_at', 'revoked_at'],
      [
        {
          jti: 'jti_1',
          credential_id: 'pc_1',
          tenant_id: 'acme',
          sub_tenant_id: 'north',
          kid: 'key_1',
          issued_at: '2030-01-02T00:00:00.000Z',
          expires_at: '2030-01-03T00:00:00.000Z',
          revoked_at: null,
        },
      ],
    );
  });

  it('given AccessTokenRevoked, then that token alone is revoked', () => {
    given(partnersProjection, [credentialCreated(), tokenIssued(), tokenIssued({ jti: 'jti_2' }), tokenRevoked()]).then(
      'partner_access_tokens',
      ['jti', 'revoked_at', 'revoke_reason'],
      [
        { jti: 'jti_1', revoked_at: '2030-01-02T12:00:00.000Z', revoke_reason: 'logout' },
        { jti: 'jti_2', revoked_at: null, revoke_reason: null },
      ],
    );
  });

  it('given a credential revoked, then its access token rows are left as they were', () => {
    given(partnersProjection, [credentialCreated(), tokenIssued(), credentialRevoked()]).then('partner_access_tokens', ['jti', 'revoked_at'], [{ jti: 'jti_1', revoked_at: null }]);
  });
});
