import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Clock } from '../../../src/app/clock';
import { SecretHasher } from '../../../src/crypto/secret-hash';
import { generateToken, parseToken } from '../../../src/crypto/token-format';
import { errorCode, graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, type TestGateway } from '../../helpers/gateway';
import {
  basic,
  createPartnerCredential,
  CREATE_PARTNER_CREDENTIAL,
  EXCHANGE,
  graphqlExchange,
  jwtVerifier,
  oauthToken,
  PARTNER_CREDENTIAL,
  PARTNER_CREDENTIALS,
  postForm,
  REVOKE_PARTNER_CREDENTIAL,
  sourceExchange,
  sourceHeaders,
  VERIFY_PARTNER_ACCESS_TOKEN,
  type PartnerCredentialFixture,
} from '../../helpers/partner-client';
import { TestClock } from '../../helpers/test-clock';

export type PartnerGatewayFactory = (options: { clock?: Clock; env?: Record<string, string> }) => Promise<TestGateway>;

const DAY_SECONDS = 24 * 60 * 60;
/** Tenants unique per run, so the suite also runs against a shared, long-lived event store. */
const RUN = Math.random().toString(36).slice(2, 8);
const TENANT_A = `partner-a-${RUN}`;
const TENANT_B = `partner-b-${RUN}`;

const FORBIDDEN = { success: false, message: 'Forbidden' };
const TENANT_REQUIRED = { success: false, message: 'Tenant ID is required' };
const SUBTENANT_REQUIRED = { success: false, message: 'Subtenant ID is required' };
const RATE_LIMITED = { success: false, message: 'Rate limit exceeded. Try again in 60 seconds.' };
const SERVER_ERROR = { success: false, message: 'Internal server error' };

/** The shared gateways allow many failures per key and address, so only the tests meant to hit a limit do. */
const GENEROUS = { KEYLEDGER_PARTNER_ATTEMPTS_PER_IP: '100000', KEYLEDGER_PARTNER_ATTEMPTS_PER_KEY: '100000' };

function introspect(url: string, token: string, auth: Record<string, string>, extra: Record<string, string> = {}) {
  return postForm(url, '/oauth/introspect', { token, ...extra }, auth);
}

/** The same string with its last character changed, so it can never equal the original. */
function tamper(value: string): string {
  return value.slice(0, -1) + (value.endsWith('x') ? 'y' : 'x');
}

function bearer(secret: string) {
  return { authorization: `Bearer ${secret}` };
}

/** Runs against any gateway factory, so every event store adapter passes the same end-to-end suite. */
export function describePartnerExchange(adapter: string, start: PartnerGatewayFactory): void {
  describe(`partner credentials and token exchange (${adapter})`, () => {
    let gw: TestGateway;
    let adminA: string;
    let adminB: string;
    let readerA: string;
    let tenantRoleOnlyA: string;
    let partner: PartnerCredentialFixture;
    let anyTeam: PartnerCredentialFixture;
    let partnerB: PartnerCredentialFixture;
    const secretsSeen: string[] = [];

    beforeAll(async () => {
      gw = await start({ env: GENEROUS });
      ({ secret: adminA } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: TENANT_A, roles: ['keyledger:admin'] }));
      ({ secret: adminB } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin b', tenantId: TENANT_B, roles: ['keyledger:admin'] }));
      ({ secret: readerA } = await issueToken(gw.url, adminA, { name: 'reader', roles: ['keyledger:tokens:read'] }));
      ({ secret: tenantRoleOnlyA } = await issueToken(gw.url, adminA, { name: 'tenant role', roles: ['dashboard:view'] }));
      partner = await createPartnerCredential(gw.url, adminA, { name: 'dashboard partner', subTenantIds: ['team-a', 'team-b'] });
      anyTeam = await createPartnerCredential(gw.url, adminA, { name: 'every team', subTenantIds: [] });
      partnerB = await createPartnerCredential(gw.url, adminB, { name: 'b partner', subTenantIds: [] });
      secretsSeen.push(partner.apiSecret, anyTeam.apiSecret, partnerB.apiSecret);
    });
    afterAll(async () => gw.stop());

    describe('createPartnerCredential, partnerCredential(s), revokePartnerCredential', () => {
      it('creates a credential and shows its generated, checksummed key and secret once', async () => {
        const response = await graphql(gw.url, CREATE_PARTNER_CREDENTIAL, { input: { name: ' reporting ', subTenantIds: ['z', 'y', 'z'] } }, adminA);
        expect(response.errors).toBeUndefined();
        const created = response.data!.createPartnerCredential;
        secretsSeen.push(created.apiSecret);
        expect(created.apiKey).toMatch(/^klp_[0-9A-Za-z]{36}$/);
        expect(created.apiSecret).toMatch(/^klps_[0-9A-Za-z]{36}$/);
        expect(parseToken(created.apiKey)?.prefix).toBe('klp');
        expect(parseToken(created.apiSecret)?.prefix).toBe('klps');
        expect(created.credential).toMatchObject({
          tenantId: TENANT_A,
          name: 'reporting',
          subTenantIds: ['y', 'z'],
          apiKey: created.apiKey,
          secretDisplay: created.apiSecret.slice(0, 9),
          status: 'ACTIVE',
          revokedAt: null,
        });
        expect(created.credential.id).toMatch(/^pc_/);

        const read = await graphql(gw.url, PARTNER_CREDENTIAL, { id: created.credential.id }, readerA);
        expect(read.data!.partnerCredential).toMatchObject({ id: created.credential.id, apiKey: created.apiKey, status: 'ACTIVE' });
        expect(read.raw).not.toContain(created.apiSecret);
      });

      it('lists the tenant\'s credentials newest first, with cursors, and never a secret', async () => {
        const first = await graphql(gw.url, PARTNER_CREDENTIALS, { first: 2 }, readerA);
        expect(first.errors).toBeUndefined();
        const page = first.data!.partnerCredentials;
        expect(page.totalCount).toBeGreaterThanOrEqual(3);
        expect(page.edges).toHaveLength(2);
        expect(page.pageInfo.hasNextPage).toBe(true);
        const next = await graphql(gw.url, PARTNER_CREDENTIALS, { first: 100, after: page.pageInfo.endCursor }, readerA);
        const ids = [...page.edges, ...next.data!.partnerCredentials.edges].map((edge: any) => edge.node.id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids).toEqual(expect.arrayContaining([partner.id, anyTeam.id]));
        expect(ids).not.toContain(partnerB.id);
        for (const secret of secretsSeen) expect(first.raw + next.raw).not.toContain(secret);
      });

      it('refuses bad input with BAD_USER_INPUT naming the field', async () => {
        for (const [input, field] of [
          [{ name: '', subTenantIds: [] }, 'name'],
          [{ name: 'x', subTenantIds: ['team a'] }, 'subTenantIds'],
          [{ name: 'x', subTenantIds: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 'subTenantIds'],
        ] as const) {
          const response = await graphql(gw.url, CREATE_PARTNER_CREDENTIAL, { input }, adminA);
          expect(errorCode(response)).toBe('BAD_USER_INPUT');
          expect(response.errors![0].extensions!.field).toBe(field);
        }
        expect(errorCode(await graphql(gw.url, PARTNER_CREDENTIALS, { first: 101 }, readerA))).toBe('BAD_USER_INPUT');
        expect(errorCode(await graphql(gw.url, PARTNER_CREDENTIALS, { after: 'garbage' }, readerA))).toBe('BAD_USER_INPUT');
      });

      it('revoking an unknown credential is NOT_FOUND; revoking twice is fine', async () => {
        expect(errorCode(await graphql(gw.url, REVOKE_PARTNER_CREDENTIAL, { input: { id: 'pc_nope' } }, adminA))).toBe('NOT_FOUND');
        const doomed = await createPartnerCredential(gw.url, adminA, { name: 'doomed', subTenantIds: [] });
        for (let i = 0; i < 2; i++) {
          const response = await graphql(gw.url, REVOKE_PARTNER_CREDENTIAL, { input: { id: doomed.id, reason: 'drill' } }, adminA);
          expect(response.data!.revokePartnerCredential).toMatchObject({ id: doomed.id, status: 'REVOKED' });
        }
      });

      it.each([
        ['createPartnerCredential', CREATE_PARTNER_CREDENTIAL, { input: { name: 'x', subTenantIds: [] } }],
        ['revokePartnerCredential', REVOKE_PARTNER_CREDENTIAL, { input: { id: 'pc_x' } }],
        ['partnerCredential', PARTNER_CREDENTIAL, { id: 'pc_x' }],
        ['partnerCredentials', PARTNER_CREDENTIALS, {}],
        ['verifyPartnerAccessToken', VERIFY_PARTNER_ACCESS_TOKEN, { token: 'x', tenantId: 'a', subTenantId: 'b' }],
      ])('%s without a bearer is UNAUTHENTICATED', async (_name, query, variables) => {
        expect(errorCode(await graphql(gw.url, query, variables))).toBe('UNAUTHENTICATED');
      });

      it('creating and revoking need keyledger:tokens:write; reading needs keyledger:tokens:read', async () => {
        expect(errorCode(await graphql(gw.url, CREATE_PARTNER_CREDENTIAL, { input: { name: 'x', subTenantIds: [] } }, readerA))).toBe('FORBIDDEN');
        expect(errorCode(await graphql(gw.url, REVOKE_PARTNER_CREDENTIAL, { input: { id: partner.id } }, readerA))).toBe('FORBIDDEN');
        expect(errorCode(await graphql(gw.url, PARTNER_CREDENTIALS, {}, tenantRoleOnlyA))).toBe('FORBIDDEN');
        expect(errorCode(await graphql(gw.url, PARTNER_CREDENTIAL, { id: partner.id }, tenantRoleOnlyA))).toBe('FORBIDDEN');
        const verify = await graphql(gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token: 'x', tenantId: TENANT_A, subTenantId: 'team-a' }, tenantRoleOnlyA);
        expect(errorCode(verify)).toBe('FORBIDDEN');
      });

      it("another tenant's credential reads as missing and cannot be revoked", async () => {
        expect((await graphql(gw.url, PARTNER_CREDENTIAL, { id: partnerB.id }, adminA)).data!.partnerCredential).toBeNull();
        expect(errorCode(await graphql(gw.url, REVOKE_PARTNER_CREDENTIAL, { input: { id: partnerB.id } }, adminA))).toBe('NOT_FOUND');
        expect(errorCode(await graphql(gw.url, CREATE_PARTNER_CREDENTIAL, { input: { name: 'x', tenantId: TENANT_B, subTenantIds: [] } }, adminA))).toBe(
          'FORBIDDEN',
        );
        expect(errorCode(await graphql(gw.url, PARTNER_CREDENTIALS, { tenantId: TENANT_B }, adminA))).toBe('FORBIDDEN');
        const root = await graphql(gw.url, PARTNER_CREDENTIAL, { id: partnerB.id }, ROOT_SECRET);
        expect(root.data!.partnerCredential.tenantId).toBe(TENANT_B);
      });

      it('a partner access token authenticates as the partner, which holds no keyledger role', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        const viewer = await graphql(gw.url, '{ viewer { id tenantId roles } }', {}, jwt);
        expect(viewer.data!.viewer).toEqual({ id: partner.id, tenantId: TENANT_A, roles: [] });
        expect(errorCode(await graphql(gw.url, CREATE_PARTNER_CREDENTIAL, { input: { name: 'x', subTenantIds: [] } }, jwt))).toBe('FORBIDDEN');
      });
    });

    describe('three doors to one exchange', () => {
      async function expectAccessToken(jwt: string, subTenantId: string, credential = partner) {
        const { payload, protectedHeader } = await jwtVerifier(gw.url)(jwt);
        expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
        expect(protectedHeader.kid).toEqual(expect.any(String));
        expect(payload).toMatchObject({
          iss: gw.url,
          aud: 'keyledger',
          sub: credential.id,
          client_id: credential.apiKey,
          tenant_id: TENANT_A,
          sub_tenant_id: subTenantId,
        });
        expect(payload.jti).toMatch(/^at_/);
        expect(payload.exp! - payload.iat!).toBe(DAY_SECONDS);
        expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(60);
        return payload;
      }

      it('the source system\'s REST shape answers its exact success body', async () => {
        const response = await sourceExchange(gw.url, sourceHeaders(partner, TENANT_A, 'team-a'));
        expect(response.status).toBe(200);
        expect(Object.keys(response.body)).toEqual(['code', 'message', 'type', 'data']);
        expect(response.body).toEqual({ code: 'RESPONSE_SUCCESS', message: 'Request served successfully.', type: 'object', data: { token: expect.any(String) } });
        expect(response.headers.get('cache-control')).toBe('no-store');
        await expectAccessToken(response.body.data.token, 'team-a');
      });

      it('GraphQL exchangePartnerCredential needs no bearer', async () => {
        const response = await graphqlExchange(gw.url, partner, TENANT_A, 'team-b');
        expect(response.errors).toBeUndefined();
        const exchanged = response.data!.exchangePartnerCredential;
        expect(exchanged.tokenType).toBe('Bearer');
        const payload = await expectAccessToken(exchanged.accessToken, 'team-b');
        expect(new Date(exchanged.expiresAt).getTime()).toBe(payload.exp! * 1000);
      });

      it('OAuth client_credentials with HTTP Basic or with form fields', async () => {
        const viaBasic = await postForm(
          gw.url,
          '/oauth/token',
          { grant_type: 'client_credentials', tenant_id: TENANT_A, sub_tenant_id: 'team-a' },
          { authorization: basic(partner.apiKey, partner.apiSecret) },
        );
        expect(viaBasic.status).toBe(200);
        expect(viaBasic.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: DAY_SECONDS });
        expect(viaBasic.headers.get('cache-control')).toBe('no-store');
        expect(viaBasic.headers.get('pragma')).toBe('no-cache');
        await expectAccessToken(viaBasic.body.access_token, 'team-a');

        const viaForm = await postForm(gw.url, '/oauth/token', {
          grant_type: 'client_credentials',
          client_id: anyTeam.apiKey,
          client_secret: anyTeam.apiSecret,
          tenant_id: TENANT_A,
          sub_tenant_id: 'whatever-team',
        });
        expect(viaForm.status).toBe(200);
        await expectAccessToken(viaForm.body.access_token, 'whatever-team', anyTeam);
      });

      it('each exchange records AccessTokenIssued with the jti and pair, never the JWT', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        const { jti, exp } = decodeJwt(jwt);
        const events = await gw.gateway.store.readStream(`partner-access-token-${jti}`);
        expect(events.map((event) => event.type)).toEqual(['AccessTokenIssued']);
        expect(events[0].data).toEqual({
          jti,
          credentialId: partner.id,
          tenantId: TENANT_A,
          subTenantId: 'team-a',
          kid: decodeProtectedHeader(jwt).kid,
          issuer: gw.url,
          issuedAt: expect.any(String),
          expiresAt: new Date(exp! * 1000).toISOString(),
        });
        expect(events[0].metadata.actor).toEqual({ type: 'partner', id: partner.id, tenantId: TENANT_A });
        const stored = JSON.stringify({ data: events[0].data, metadata: events[0].metadata });
        expect(stored).not.toContain(jwt.split('.')[2]);
        expect(stored).not.toContain(partner.apiSecret);
      });

      it('verifyToken accepts these JWTs, under the same tenant rules', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: jwt }, readerA)).data!.verifyToken).toEqual({ valid: true, code: 'VALID', token: null });
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: jwt, requiredRoles: ['x'] }, readerA)).data!.verifyToken.code).toBe('INSUFFICIENT_ROLES');
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: jwt }, adminB)).data!.verifyToken.code).toBe('NOT_FOUND');
        const forged = `${jwt.slice(0, jwt.lastIndexOf('.'))}.${'A'.repeat(86)}`;
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: forged }, readerA)).data!.verifyToken.code).toBe('NOT_FOUND');
      });

      it('a token for (A, a) is rejected when presented for (A, b)', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        const right = await graphql(gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token: jwt, tenantId: TENANT_A, subTenantId: 'team-a' }, readerA);
        expect(right.data!.verifyPartnerAccessToken).toMatchObject({ valid: true, code: 'VALID', credentialId: partner.id, subTenantId: 'team-a' });
        const wrong = await graphql(gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token: jwt, tenantId: TENANT_A, subTenantId: 'team-b' }, readerA);
        expect(wrong.data!.verifyPartnerAccessToken).toMatchObject({ valid: false, code: 'WRONG_TENANT' });
        const foreign = await graphql(gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token: jwt, tenantId: TENANT_A, subTenantId: 'team-a' }, adminB);
        expect(foreign.data!.verifyPartnerAccessToken).toMatchObject({ valid: false, code: 'NOT_FOUND', credentialId: null });

        expect((await introspect(gw.url, jwt, bearer(readerA), { tenant_id: TENANT_A, sub_tenant_id: 'team-a' })).body.active).toBe(true);
        expect((await introspect(gw.url, jwt, bearer(readerA), { tenant_id: TENANT_A, sub_tenant_id: 'team-b' })).body).toEqual({ active: false });
        expect((await introspect(gw.url, jwt, bearer(readerA), { tenant_id: TENANT_B })).body).toEqual({ active: false });
      });

      it('a credential cannot obtain a token for a pair it is not allowed', async () => {
        expect((await sourceExchange(gw.url, sourceHeaders(partner, TENANT_A, 'team-c'))).body).toEqual(FORBIDDEN);
        expect((await sourceExchange(gw.url, sourceHeaders(partner, TENANT_B, 'team-a'))).body).toEqual(FORBIDDEN);
        expect(errorCode(await graphqlExchange(gw.url, partner, TENANT_A, 'team-c'))).toBe('FORBIDDEN');
        const oauth = await postForm(
          gw.url,
          '/oauth/token',
          { grant_type: 'client_credentials', tenant_id: TENANT_B, sub_tenant_id: 'team-a' },
          { authorization: basic(partner.apiKey, partner.apiSecret) },
        );
        expect(oauth.status).toBe(400);
        expect(oauth.body.error).toBe('unauthorized_client');
      });
    });

    describe("the source system's documented errors, with their exact status and body", () => {
      it('400 Tenant ID is required, whatever else is missing', async () => {
        const { 'x-tenant-id': _omit, ...withoutTenant } = sourceHeaders(partner, TENANT_A, 'team-a');
        for (const headers of [withoutTenant, { ...withoutTenant, 'x-tenant-id': '   ' }, {}, { 'x-api-key': 'x' }]) {
          const response = await sourceExchange(gw.url, headers);
          expect([response.status, response.body]).toEqual([400, TENANT_REQUIRED]);
        }
      });

      it('400 Subtenant ID is required', async () => {
        const { 'x-sub-tenant-id': _omit, ...withoutSubTenant } = sourceHeaders(partner, TENANT_A, 'team-a');
        for (const headers of [withoutSubTenant, { ...withoutSubTenant, 'x-sub-tenant-id': '' }, { 'x-tenant-id': TENANT_A }]) {
          const response = await sourceExchange(gw.url, headers);
          expect([response.status, response.body]).toEqual([400, SUBTENANT_REQUIRED]);
        }
      });

      it('403 Forbidden for missing, garbled, wrong or unknown credentials', async () => {
        const good = sourceHeaders(partner, TENANT_A, 'team-a');
        const { 'x-api-key': _k, ...withoutKey } = good;
        const { 'x-api-secret': _s, ...withoutSecret } = good;
        const cases: Array<Record<string, string>> = [
          withoutKey,
          withoutSecret,
          { ...good, 'x-api-secret': partnerB.apiSecret },
          { ...good, 'x-api-secret': tamper(partner.apiSecret) },
          { ...good, 'x-api-secret': 'x'.repeat(8000) },
          { ...good, 'x-api-key': tamper(partnerB.apiKey) },
          { ...good, 'x-api-key': 'klp_not-a-key' },
          { ...good, 'x-api-key': partner.apiSecret, 'x-api-secret': partner.apiKey },
          { ...good, 'x-tenant-id': 'acme corp' },
          { ...good, 'x-sub-tenant-id': 'team-a, team-b' },
        ];
        for (const headers of cases) {
          const response = await sourceExchange(gw.url, headers);
          expect([response.status, response.body]).toEqual([403, FORBIDDEN]);
        }
        const raw = await fetch(`${gw.url}/api/v1/partner/dashboard/auth/token`, { headers: good });
        expect(raw.status).toBe(200);
      });

      it('answers JSON with nothing extra: no stack, no input echoed', async () => {
        const headers = { ...sourceHeaders(partner, TENANT_A, 'team-a'), 'x-api-secret': 'klps_echo-me-please' };
        const response = await fetch(`${gw.url}/api/v1/partner/dashboard/auth/token`, { headers });
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        const text = await response.text();
        expect(text).toBe(JSON.stringify(FORBIDDEN));
      });
    });

    describe('OAuth token endpoint errors (RFC 6749 §5.2)', () => {
      const grant = () => ({ grant_type: 'client_credentials', tenant_id: TENANT_A, sub_tenant_id: 'team-a' });
      const auth = () => ({ authorization: basic(partner.apiKey, partner.apiSecret) });

      it('invalid_request for a missing grant_type, a repeated parameter, a non-form body, missing tenant_id or sub_tenant_id', async () => {
        const cases: Array<[Record<string, string> | string, Record<string, string>, RegExp]> = [
          [{ tenant_id: TENANT_A, sub_tenant_id: 'team-a' }, auth(), /grant_type/],
          ['grant_type=client_credentials&grant_type=client_credentials&tenant_id=a&sub_tenant_id=b', auth(), /once/],
          [{ grant_type: 'client_credentials', sub_tenant_id: 'team-a' }, auth(), /tenant_id/],
          [{ grant_type: 'client_credentials', tenant_id: TENANT_A }, auth(), /sub_tenant_id/],
          [JSON.stringify(grant()), { ...auth(), 'content-type': 'application/json' }, /x-www-form-urlencoded/],
          [{ ...grant(), client_id: partner.apiKey, client_secret: partner.apiSecret }, auth(), /one client authentication method/],
        ];
        for (const [form, headers, description] of cases) {
          const response = await postForm(gw.url, '/oauth/token', form, headers);
          expect(response.status).toBe(400);
          expect(response.body.error).toBe('invalid_request');
          expect(response.body.error_description).toMatch(description);
          expect(response.headers.get('cache-control')).toBe('no-store');
        }
      });

      it('unsupported_grant_type for any grant but client_credentials', async () => {
        for (const grantType of ['password', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer']) {
          const response = await postForm(gw.url, '/oauth/token', { ...grant(), grant_type: grantType }, auth());
          expect([response.status, response.body.error]).toEqual([400, 'unsupported_grant_type']);
        }
      });

      it('invalid_client (401 with a Basic challenge) for missing or wrong client credentials', async () => {
        const cases: Array<[Record<string, string>, Record<string, string>]> = [
          [grant(), {}],
          [grant(), { authorization: basic(partner.apiKey, 'klps_wrong') }],
          [grant(), { authorization: basic(partner.apiKey, partnerB.apiSecret) }],
          [grant(), { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` }],
          [grant(), { authorization: 'Basic !!!' }],
          [grant(), { authorization: `Bearer ${ROOT_SECRET}` }],
          [{ ...grant(), client_id: partner.apiKey, client_secret: anyTeam.apiSecret }, {}],
          [{ ...grant(), client_id: partner.apiKey }, {}],
        ];
        for (const [form, headers] of cases) {
          const response = await postForm(gw.url, '/oauth/token', form, headers);
          expect([response.status, response.body.error]).toEqual([401, 'invalid_client']);
          expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="keyledger"/);
          expect(response.text).not.toContain(partner.apiSecret);
        }
      });

      it('POST only (405), and an oversized body is refused (413) while the server stays responsive', async () => {
        const get = await fetch(`${gw.url}/oauth/token`);
        expect(get.status).toBe(405);
        expect(get.headers.get('allow')).toBe('POST');
        const huge = await postForm(gw.url, '/oauth/token', `grant_type=client_credentials&padding=${'x'.repeat(64 * 1024)}`, auth());
        expect([huge.status, huge.body.error]).toEqual([413, 'invalid_request']);
        expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
        expect((await postForm(gw.url, '/oauth/token', grant(), auth())).status).toBe(200);
      });

      it('publishes RFC 8414 metadata that points at these endpoints', async () => {
        const response = await fetch(`${gw.url}/.well-known/oauth-authorization-server`);
        expect(response.status).toBe(200);
        expect(await response.json()).toMatchObject({
          issuer: gw.url,
          token_endpoint: `${gw.url}/oauth/token`,
          introspection_endpoint: `${gw.url}/oauth/introspect`,
          revocation_endpoint: `${gw.url}/oauth/revoke`,
          jwks_uri: `${gw.url}/.well-known/jwks.json`,
          grant_types_supported: ['client_credentials'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        });
      });
    });

    describe('introspection (RFC 7662) and revocation (RFC 7009)', () => {
      it('introspects a partner token for a keyledger reader or for the partner itself, and for no one else', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        const { jti, iat, exp } = decodeJwt(jwt);
        const expected = {
          active: true,
          token_type: 'Bearer',
          client_id: partner.apiKey,
          sub: partner.id,
          aud: 'keyledger',
          iss: gw.url,
          jti,
          iat,
          exp,
          tenant_id: TENANT_A,
          sub_tenant_id: 'team-a',
        };
        const asReader = await introspect(gw.url, jwt, bearer(readerA));
        expect(asReader.status).toBe(200);
        expect(asReader.body).toEqual(expected);
        expect(asReader.headers.get('cache-control')).toBe('no-store');
        expect((await introspect(gw.url, jwt, { authorization: basic(partner.apiKey, partner.apiSecret) })).body).toEqual(expected);
        expect((await postForm(gw.url, '/oauth/introspect', { token: jwt, client_id: partner.apiKey, client_secret: partner.apiSecret })).body).toEqual(expected);

        expect((await introspect(gw.url, jwt, { authorization: basic(anyTeam.apiKey, anyTeam.apiSecret) })).body).toEqual({ active: false });
        expect((await introspect(gw.url, jwt, bearer(adminB))).body).toEqual({ active: false });
        for (const token of ['garbage', `${jwt}x`, jwt.replace(/\.[^.]+$/, '.AAAA'), 'eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.e30.']) {
          expect((await introspect(gw.url, token, bearer(readerA))).body).toEqual({ active: false });
        }
      });

      it('introspects keyledger API tokens for keyledger callers only', async () => {
        const { secret, id } = await issueToken(gw.url, adminA, { name: 'svc', roles: ['svc:read', 'svc:write'] });
        const active = await introspect(gw.url, secret, bearer(readerA));
        expect(active.body).toMatchObject({ active: true, sub: id, tenant_id: TENANT_A, scope: 'svc:read svc:write', token_type: 'Bearer' });
        expect((await introspect(gw.url, secret, bearer(adminB))).body).toEqual({ active: false });
        expect((await introspect(gw.url, secret, { authorization: basic(partner.apiKey, partner.apiSecret) })).body).toEqual({ active: false });
        await graphql(gw.url, REVOKE_TOKEN, { input: { id } }, adminA);
        expect((await introspect(gw.url, secret, bearer(readerA))).body).toEqual({ active: false });
      });

      it('introspection errors: no caller (401), a bad bearer (401), no keyledger:tokens:read (403), no token (400)', async () => {
        const anonymous = await postForm(gw.url, '/oauth/introspect', { token: 'x' });
        expect([anonymous.status, anonymous.body.error]).toEqual([401, 'invalid_client']);
        expect(anonymous.headers.get('www-authenticate')).toMatch(/Basic/);
        const badBearer = await introspect(gw.url, 'x', bearer('klt_nonsense'));
        expect([badBearer.status, badBearer.body.error]).toEqual([401, 'invalid_token']);
        expect(badBearer.headers.get('www-authenticate')).toMatch(/^Bearer/);
        const noRole = await introspect(gw.url, 'x', bearer(tenantRoleOnlyA));
        expect([noRole.status, noRole.body.error]).toEqual([403, 'insufficient_scope']);
        const noToken = await postForm(gw.url, '/oauth/introspect', {}, bearer(readerA));
        expect([noToken.status, noToken.body.error]).toEqual([400, 'invalid_request']);
        const wrongPartner = await introspect(gw.url, 'x', { authorization: basic(partner.apiKey, 'klps_wrong') });
        expect([wrongPartner.status, wrongPartner.body.error]).toEqual([401, 'invalid_client']);
      });

      it('a partner revokes its own token; it then introspects inactive and stops authenticating', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        const response = await postForm(gw.url, '/oauth/revoke', { token: jwt, token_type_hint: 'access_token' }, { authorization: basic(partner.apiKey, partner.apiSecret) });
        expect(response.status).toBe(200);
        expect((await introspect(gw.url, jwt, bearer(readerA))).body).toEqual({ active: false });
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: jwt }, readerA)).data!.verifyToken.code).toBe('REVOKED');
        const asBearer = await graphql(gw.url, '{ viewer { id } }', {}, jwt);
        expect(errorCode(asBearer)).toBe('UNAUTHENTICATED');
        expect(asBearer.errors![0].message).toMatch(/revoked/);
        const { jti } = decodeJwt(jwt);
        const events = await gw.gateway.store.readStream(`partner-access-token-${jti}`);
        expect(events.map((event) => event.type)).toEqual(['AccessTokenIssued', 'AccessTokenRevoked']);
        expect(JSON.stringify(events.map(({ data, metadata }) => ({ data, metadata })))).not.toContain(jwt);
      });

      it('revocation answers 200 for unknown tokens and for tokens that are not the caller\'s, and leaves those alone', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        for (const token of ['garbage', 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.AAAA', jwt]) {
          const response = await postForm(gw.url, '/oauth/revoke', { token }, { authorization: basic(anyTeam.apiKey, anyTeam.apiSecret) });
          expect(response.status).toBe(200);
        }
        expect((await postForm(gw.url, '/oauth/revoke', { token: jwt }, bearer(adminB))).status).toBe(200);
        expect((await introspect(gw.url, jwt, bearer(readerA))).body.active).toBe(true);
      });

      it('a keyledger writer revokes a partner token or an API token of its tenant', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-b');
        expect((await postForm(gw.url, '/oauth/revoke', { token: jwt }, bearer(adminA))).status).toBe(200);
        expect((await introspect(gw.url, jwt, bearer(readerA))).body).toEqual({ active: false });

        const { secret } = await issueToken(gw.url, adminA, { name: 'to revoke', roles: ['svc:read'] });
        expect((await postForm(gw.url, '/oauth/revoke', { token: secret }, bearer(adminA))).status).toBe(200);
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: secret }, readerA)).data!.verifyToken.code).toBe('REVOKED');
      });

      it('revocation errors: a reader may not revoke (403), no token (400), no caller (401)', async () => {
        const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
        const reader = await postForm(gw.url, '/oauth/revoke', { token: jwt }, bearer(readerA));
        expect([reader.status, reader.body.error]).toEqual([403, 'insufficient_scope']);
        expect((await introspect(gw.url, jwt, bearer(readerA))).body.active).toBe(true);
        expect((await postForm(gw.url, '/oauth/revoke', {}, bearer(adminA))).status).toBe(400);
        expect((await postForm(gw.url, '/oauth/revoke', { token: jwt })).status).toBe(401);
      });

      it('revoking a partner credential ends its exchanges and kills the tokens it already obtained', async () => {
        const doomed = await createPartnerCredential(gw.url, adminA, { name: 'to be revoked', subTenantIds: [] });
        const jwt = await oauthToken(gw.url, doomed, TENANT_A, 'team-a');
        expect((await introspect(gw.url, jwt, bearer(readerA))).body.active).toBe(true);

        const revoked = await graphql(gw.url, REVOKE_PARTNER_CREDENTIAL, { input: { id: doomed.id, reason: 'contract ended' } }, adminA);
        expect(revoked.data!.revokePartnerCredential.status).toBe('REVOKED');

        expect(await sourceExchange(gw.url, sourceHeaders(doomed, TENANT_A, 'team-a'))).toMatchObject({ status: 403, body: FORBIDDEN });
        expect(errorCode(await graphqlExchange(gw.url, doomed, TENANT_A, 'team-a'))).toBe('UNAUTHENTICATED');
        const oauth = await postForm(gw.url, '/oauth/token', { grant_type: 'client_credentials', tenant_id: TENANT_A, sub_tenant_id: 'team-a' }, { authorization: basic(doomed.apiKey, doomed.apiSecret) });
        expect([oauth.status, oauth.body.error]).toEqual([401, 'invalid_client']);

        expect((await introspect(gw.url, jwt, bearer(readerA))).body).toEqual({ active: false });
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: jwt }, readerA)).data!.verifyToken.code).toBe('REVOKED');
        expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, jwt))).toBe('UNAUTHENTICATED');
      });
    });

    describe('GraphQL exchange errors', () => {
      it('BAD_USER_INPUT for a missing tenant or subtenant, UNAUTHENTICATED for a wrong secret, never echoing the secret', async () => {
        const noTenant = await graphqlExchange(gw.url, partner, '', 'team-a');
        expect(errorCode(noTenant)).toBe('BAD_USER_INPUT');
        expect(noTenant.errors![0].extensions!.field).toBe('tenantId');
        const noSubTenant = await graphqlExchange(gw.url, partner, TENANT_A, ' ');
        expect(noSubTenant.errors![0].extensions!.field).toBe('subTenantId');
        const wrong = await graphql(gw.url, EXCHANGE, { apiKey: partner.apiKey, apiSecret: 'klps_guess-guess-guess', tenantId: TENANT_A, subTenantId: 'team-a' });
        expect(errorCode(wrong)).toBe('UNAUTHENTICATED');
        expect(wrong.raw).not.toContain('guess');
        const typed = await graphql(gw.url, EXCHANGE, { apiKey: partner.apiKey, apiSecret: { secret: partner.apiSecret }, tenantId: TENANT_A, subTenantId: 'team-a' });
        expect(errorCode(typed)).toBe('BAD_USER_INPUT');
        expect(typed.raw).not.toContain(partner.apiSecret);
      });
    });

    it('no secret, JWT or private key material reaches the logs', async () => {
      const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
      const logs = gw.logs();
      expect(logs).toContain('/oauth/token');
      for (const secret of [...secretsSeen, jwt, jwt.split('.')[2]]) expect(logs).not.toContain(secret);
    });
  });

  describe(`signing-key rotation (${adapter})`, () => {
    let gw: TestGateway;
    const clock = new TestClock();
    let admin: string;
    let partner: PartnerCredentialFixture;

    beforeAll(async () => {
      gw = await start({ clock, env: GENEROUS });
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: TENANT_A, roles: ['keyledger:admin'] }));
      partner = await createPartnerCredential(gw.url, admin, { name: 'rotating partner', subTenantIds: [] });
    });
    afterAll(async () => gw.stop());

    async function jwksKids(): Promise<string[]> {
      const response = await fetch(`${gw.url}/.well-known/jwks.json`);
      const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
      for (const key of keys) {
        expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
        expect(key.d).toBeUndefined();
      }
      return keys.map((key) => key.kid as string);
    }

    it('tokens from every door verify before and after a rotation; the old key leaves the JWKS 24 hours later', async () => {
      const verify = jwtVerifier(gw.url);
      const before = [
        (await sourceExchange(gw.url, sourceHeaders(partner, TENANT_A, 'team-a'))).body.data.token as string,
        (await graphqlExchange(gw.url, partner, TENANT_A, 'team-a')).data!.exchangePartnerCredential.accessToken as string,
        await oauthToken(gw.url, partner, TENANT_A, 'team-a'),
      ];
      const [oldKid] = await jwksKids();
      for (const jwt of before) expect((await verify(jwt)).protectedHeader.kid).toBe(oldKid);

      const rotation = await gw.gateway.partners.signingKeys.rotate({ requestId: 'test-rotation' });
      expect(rotation.previousKid).toBe(oldKid);
      expect(await jwksKids()).toEqual([rotation.kid, oldKid]);

      const after = [
        (await sourceExchange(gw.url, sourceHeaders(partner, TENANT_A, 'team-a'))).body.data.token as string,
        (await graphqlExchange(gw.url, partner, TENANT_A, 'team-a')).data!.exchangePartnerCredential.accessToken as string,
        await oauthToken(gw.url, partner, TENANT_A, 'team-a'),
      ];
      for (const jwt of after) expect((await verify(jwt)).protectedHeader.kid).toBe(rotation.kid);
      // The same verifier, holding the JWKS it fetched before, still accepts tokens of the old key.
      for (const jwt of before) expect((await verify(jwt)).protectedHeader.kid).toBe(oldKid);
      for (const jwt of [...before, ...after]) expect((await introspect(gw.url, jwt, bearer(admin))).body.active).toBe(true);

      clock.advance(24 * 3600_000);
      expect(await jwksKids()).toEqual([rotation.kid, oldKid]);
      for (const jwt of before) expect((await introspect(gw.url, jwt, bearer(admin))).body).toEqual({ active: false });
      clock.advance(61_000);
      expect(await jwksKids()).toEqual([rotation.kid]);
      const later = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
      expect((await verify(later)).protectedHeader.kid).toBe(rotation.kid);
      expect((await introspect(gw.url, later, bearer(admin))).body.active).toBe(true);
    });

    it('an expired token is inactive and EXPIRED', async () => {
      const jwt = await oauthToken(gw.url, partner, TENANT_A, 'team-a');
      clock.advance(24 * 3600_000);
      expect((await introspect(gw.url, jwt, bearer(admin))).body).toEqual({ active: false });
      expect((await graphql(gw.url, VERIFY_TOKEN, { token: jwt }, admin)).data!.verifyToken.code).toBe('EXPIRED');
      expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, jwt))).toBe('UNAUTHENTICATED');
    });
  });

  describe(`partner exchange under abuse (${adapter})`, () => {
    let gw: TestGateway;
    let admin: string;

    beforeAll(async () => {
      gw = await start({ env: { KEYLEDGER_PARTNER_ATTEMPTS_PER_IP: '60' } });
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: TENANT_A, roles: ['keyledger:admin'] }));
    });
    afterAll(async () => gw.stop());

    it('a burst of wrong secrets is cut off at the per-key limit before argon2, and the server stays responsive', async () => {
      const target = await createPartnerCredential(gw.url, admin, { name: 'under attack', subTenantIds: [] });
      // Well-formed secrets (valid checksum), so that each one not refused by the limiter would cost an argon2 check.
      const attempt = () => sourceExchange(gw.url, { ...sourceHeaders(target, TENANT_A, 'team-a'), 'x-api-secret': generateToken('klps') });
      // The gateway runs in this process: count the argon2 checks the burst actually cost.
      const argon2Checks = jest.spyOn(SecretHasher.prototype, 'argon2Verify');
      let responses: Awaited<ReturnType<typeof attempt>>[];
      try {
        responses = await Promise.all(Array.from({ length: 40 }, attempt));
        expect(argon2Checks.mock.calls.length).toBeLessThanOrEqual(10);
      } finally {
        argon2Checks.mockRestore();
      }
      const limited = responses.filter((response) => response.status === 429);
      const refused = responses.filter((response) => response.status === 403);
      expect(refused.length).toBeLessThanOrEqual(10);
      expect(limited.length).toBeGreaterThanOrEqual(30);
      for (const response of limited) {
        expect(response.body).toEqual(RATE_LIMITED);
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(Number(response.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      }
      const health = await fetch(`${gw.url}/healthz`);
      expect(health.status).toBe(200);

      const graphqlLimited = await graphqlExchange(gw.url, target, TENANT_A, 'team-a');
      expect(errorCode(graphqlLimited)).toBe('RATE_LIMITED');
      expect(graphqlLimited.errors![0].extensions!.retryAfter).toEqual(expect.any(Number));
      const oauthLimited = await postForm(gw.url, '/oauth/token', { grant_type: 'client_credentials', tenant_id: TENANT_A, sub_tenant_id: 'a' }, { authorization: basic(target.apiKey, target.apiSecret) });
      expect(oauthLimited.status).toBe(429);
      expect(Number(oauthLimited.headers.get('retry-after'))).toBeGreaterThan(0);

      // Another credential is not affected by the attacked one's limit.
      const bystander = await createPartnerCredential(gw.url, admin, { name: 'bystander', subTenantIds: [] });
      expect((await sourceExchange(gw.url, sourceHeaders(bystander, TENANT_A, 'team-a'))).status).toBe(200);
    });

    it('guessing many keys from one address is limited per address', async () => {
      const garbage = Array.from({ length: 80 }, (_, i) => ({ 'x-api-key': `klp_guess${i}`, 'x-api-secret': 'x', 'x-tenant-id': TENANT_A, 'x-sub-tenant-id': 'a' }));
      const responses = await Promise.all(garbage.map((headers) => sourceExchange(gw.url, headers)));
      expect(responses.some((response) => response.status === 429)).toBe(true);
      expect(responses.every((response) => response.status === 429 || response.status === 403)).toBe(true);
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    });
  });

  describe(`partner exchange when the event store fails (${adapter})`, () => {
    it('answers the source system\'s 500 body', async () => {
      const gw = await start({ env: GENEROUS });
      try {
        const { secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: TENANT_A, roles: ['keyledger:admin'] });
        const partner = await createPartnerCredential(gw.url, admin, { name: 'p', subTenantIds: [] });
        await gw.gateway.store.close();
        const response = await sourceExchange(gw.url, sourceHeaders(partner, TENANT_A, 'team-a'));
        expect([response.status, response.body]).toEqual([500, SERVER_ERROR]);
        const oauth = await postForm(gw.url, '/oauth/token', { grant_type: 'client_credentials', tenant_id: TENANT_A, sub_tenant_id: 'a' }, { authorization: basic(partner.apiKey, partner.apiSecret) });
        expect(oauth.status).toBeGreaterThanOrEqual(500);
        expect(['server_error', 'temporarily_unavailable']).toContain(oauth.body.error);
        expect(gw.logs()).not.toContain(partner.apiSecret);
      } finally {
        await gw.stop();
      }
    });
  });
}
