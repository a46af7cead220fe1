import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { Role } from '../../src/domain/access/roles';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { createPartnerCredential, graphqlExchange, postForm, VERIFY_PARTNER_ACCESS_TOKEN, basic } from '../helpers/partner-client';
import { appendedBy, codes, revokePartner, startSecurityGateway, TENANT_A, TENANT_B, type SecurityGateway } from './fixtures';

const ROTATE = 'mutation($input: RotateTokenInput!) { rotateToken(input: $input) { secret } }';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Old, stolen or forged credentials presented again: none may pass, as a bearer or to a verifier. */
describe('replayed and forged credentials', () => {
  let s: SecurityGateway;
  let reader: string;

  beforeAll(async () => {
    s = await startSecurityGateway();
    reader = s.principals.exact[Role.tokensRead];
  }, 120_000);
  afterAll(async () => s.gw.stop());

  const asBearer = async (credential: string) => codes(await graphql(s.gw.url, '{ viewer { id } }', {}, credential));
  const verify = async (token: string) => (await graphql(s.gw.url, VERIFY_TOKEN, { token }, reader)).data!.verifyToken.code as string;
  const verifyPartner = async (token: string, tenantId = TENANT_A, subTenantId = 'branch-a') =>
    (await graphql(s.gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token, tenantId, subTenantId }, reader)).data!.verifyPartnerAccessToken as { valid: boolean; code: string };
  const introspect = async (token: string) => (await postForm(s.gw.url, '/oauth/introspect', { token }, { authorization: `Bearer ${reader}` })).body;

  async function partnerJwt(subTenantIds: string[] = []) {
    const credential = await createPartnerCredential(s.gw.url, ROOT_SECRET, { name: 'replayed partner', subTenantIds, tenantId: TENANT_A });
    const response = await graphqlExchange(s.gw.url, credential, TENANT_A, 'branch-a');
    return { credential, jwt: response.data!.exchangePartnerCredential.accessToken as string };
  }

  it("a revoked token's secret: UNAUTHENTICATED as a bearer, REVOKED to verifyToken", async () => {
    const { secret, id } = await issueToken(s.gw.url, ROOT_SECRET, { name: 'soon revoked', tenantId: TENANT_A, roles: [Role.tokensRead] });
    expect(await asBearer(secret)).toEqual([]);
    await graphql(s.gw.url, REVOKE_TOKEN, { input: { id } }, ROOT_SECRET);
    expect(await asBearer(secret)).toEqual(['UNAUTHENTICATED']);
    expect(await verify(secret)).toBe('REVOKED');
  });

  it('a rotated-out secret works through its grace period only; the new one goes on working', async () => {
    const { secret: old, id } = await issueToken(s.gw.url, ROOT_SECRET, { name: 'rotated', tenantId: TENANT_A, roles: [Role.tokensRead] });
    const rotated = await graphql(s.gw.url, ROTATE, { input: { id, gracePeriodSeconds: 60 } }, ROOT_SECRET);
    const fresh = rotated.data!.rotateToken.secret as string;
    expect([await asBearer(old), await verify(old)]).toEqual([[], 'VALID']);
    s.clock.advance(61_000);
    expect([await asBearer(old), await verify(old)]).toEqual([['UNAUTHENTICATED'], 'REVOKED']);
    expect([await asBearer(fresh), await verify(fresh)]).toEqual([[], 'VALID']);
  });

  it('an integration-key JWT signed before the key was revoked verifies REVOKED; forged ones never VALID', async () => {
    const key = await issueToken(s.gw.url, ROOT_SECRET, { name: 'signing key', kind: 'INTEGRATION_KEY', integrationId: 'int-replay', tenantId: TENANT_A });
    const signed = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(new TextEncoder().encode(key.secret));
    const wrongSecret = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(new TextEncoder().encode(`${key.secret}x`));
    const none = `${b64url({ alg: 'none', kid: key.id })}.${b64url({ scope: 'app' })}.`;
    expect(await verify(signed)).toBe('VALID');
    expect(await verify(wrongSecret)).toBe('NOT_FOUND');
    expect(await verify(none)).toBe('MALFORMED');
    await graphql(s.gw.url, REVOKE_TOKEN, { input: { id: key.id } }, ROOT_SECRET);
    expect(await verify(signed)).toBe('REVOKED');
    expect(await asBearer(signed)).toEqual(['UNAUTHENTICATED']);
  });

  it('a partner JWT obtained before its credential was revoked stops everywhere, and the credential cannot buy another', async () => {
    const { credential, jwt } = await partnerJwt();
    expect((await verifyPartner(jwt)).code).toBe('VALID');
    expect(await asBearer(jwt)).toEqual([]);
    await revokePartner(s.gw.url, credential.id);
    expect((await verifyPartner(jwt)).code).toBe('REVOKED');
    expect(await asBearer(jwt)).toEqual(['UNAUTHENTICATED']);
    expect(await introspect(jwt)).toEqual({ active: false });
    const { result, appended } = await appendedBy(s.gw, () => graphqlExchange(s.gw.url, credential, TENANT_A, 'branch-a'));
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(appended.filter((type) => type !== 'AuthenticationFailed')).toEqual([]);
  });

  it('a partner JWT revoked through /oauth/revoke stays revoked', async () => {
    const { credential, jwt } = await partnerJwt();
    const revoked = await postForm(s.gw.url, '/oauth/revoke', { token: jwt }, { authorization: basic(credential.apiKey, credential.apiSecret) });
    expect(revoked.status).toBe(200);
    expect((await verifyPartner(jwt)).code).toBe('REVOKED');
    expect(await asBearer(jwt)).toEqual(['UNAUTHENTICATED']);
  });

  it('a partner JWT for one tenant and subtenant is WRONG_TENANT for any other pair', async () => {
    const { jwt } = await partnerJwt(['branch-a']);
    expect((await verifyPartner(jwt)).code).toBe('VALID');
    expect(await verifyPartner(jwt, TENANT_A, 'branch-z')).toMatchObject({ valid: false, code: 'WRONG_TENANT' });
    // Another tenant's verifier does not learn the token exists at all.
    const other = await graphql(s.gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token: jwt, tenantId: TENANT_B, subTenantId: 'branch-a' }, s.principals.adminB);
    expect(other.data!.verifyPartnerAccessToken).toMatchObject({ valid: false, code: 'NOT_FOUND', credentialId: null });
  });

  it("another tenant's credentials, in every form and state, read as NOT_FOUND to verifyToken", async () => {
    const key = await issueToken(s.gw.url, ROOT_SECRET, { name: 'b key', kind: 'INTEGRATION_KEY', integrationId: 'int-b-replay', tenantId: TENANT_B });
    const jwt = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(new TextEncoder().encode(key.secret));
    const revoked = await issueToken(s.gw.url, ROOT_SECRET, { name: 'b revoked', tenantId: TENANT_B });
    await graphql(s.gw.url, REVOKE_TOKEN, { input: { id: revoked.id } }, ROOT_SECRET);
    const forms = {
      secret: key.secret,
      keyIdAndSecret: `${key.id}:${key.secret}`,
      basic: `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`,
      jwt,
      revoked: revoked.secret,
    };
    const answers: Record<string, unknown> = {};
    for (const [form, token] of Object.entries(forms)) answers[form] = (await graphql(s.gw.url, VERIFY_TOKEN, { token }, reader)).data!.verifyToken;
    const notFound = { valid: false, code: 'NOT_FOUND', token: null };
    expect(answers).toEqual(Object.fromEntries(Object.keys(forms).map((form) => [form, notFound])));
  });

  it("an idempotency key replays only to the credential that sent it; anyone else's request runs on its own", async () => {
    const ISSUE = 'mutation($input: IssueTokenInput!, $k: String) { issueToken(input: $input, idempotencyKey: $k) { secret replayed token { id tenantId } } }';
    const send = (bearer: string) => graphql(s.gw.url, ISSUE, { input: { name: 'keyed' }, k: 'shared-idempotency-key' }, bearer);
    const first = (await send(s.principals.adminA)).data!.issueToken;
    const again = (await send(s.principals.adminA)).data!.issueToken;
    expect(again).toEqual({ secret: null, replayed: true, token: first.token });
    for (const [bearer, tenantId] of [
      [s.principals.exact[Role.tokensWrite], TENANT_A],
      [s.principals.adminB, TENANT_B],
    ]) {
      const other = (await send(bearer)).data!.issueToken;
      expect({ replayed: other.replayed, tenantId: other.token.tenantId, secret: typeof other.secret }).toEqual({ replayed: false, tenantId, secret: 'string' });
      expect(other.token.id).not.toBe(first.token.id);
    }
    const { result, appended } = await appendedBy(s.gw, () => send(s.principals.lacking[Role.tokensWrite]));
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(appended).toEqual([]);
  });

  describe('forged partner JWTs', () => {
    let genuine: string;
    const forgeries: Array<[string, () => Promise<string>]> = [
      ['alg none', async () => `${b64url({ ...decodeProtectedHeader(genuine), alg: 'none' })}.${b64url(decodeJwt(genuine))}.`],
      [
        'ES256 with an unknown key under the real kid',
        async () => {
          const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
          return new SignJWT(decodeJwt(genuine)).setProtectedHeader(decodeProtectedHeader(genuine) as { alg: string }).sign(privateKey);
        },
      ],
      [
        'ES256 with an unknown key and kid',
        async () => {
          const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
          return new SignJWT(decodeJwt(genuine)).setProtectedHeader({ ...decodeProtectedHeader(genuine), kid: 'attacker-key' } as { alg: string }).sign(privateKey);
        },
      ],
      [
        'HS256 keyed with the published public key (algorithm confusion)',
        async () => {
          const jwks = (await (await fetch(`${s.gw.url}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, string>> };
          const jwk = jwks.keys.find((k) => k.kid === decodeProtectedHeader(genuine).kid)!;
          const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
          return new SignJWT(decodeJwt(genuine)).setProtectedHeader({ ...decodeProtectedHeader(genuine), alg: 'HS256' } as { alg: string }).sign(new TextEncoder().encode(String(pem)));
        },
      ],
      [
        'the genuine token with its claims changed to another tenant',
        async () => {
          const [header, , signature] = genuine.split('.');
          return `${header}.${b64url({ ...decodeJwt(genuine), tenant_id: TENANT_B })}.${signature}`;
        },
      ],
    ];

    beforeAll(async () => {
      genuine = (await partnerJwt()).jwt;
    });

    it.each(forgeries)('%s: refused as a bearer, by verifyPartnerAccessToken, verifyToken and introspection', async (_name, forge) => {
      const forged = await forge();
      expect(await asBearer(forged)).toEqual(['UNAUTHENTICATED']);
      expect(await verifyPartner(forged)).toMatchObject({ valid: false });
      expect(await verifyPartner(forged, TENANT_B, 'branch-a')).toMatchObject({ valid: false });
      expect(await verify(forged)).not.toBe('VALID');
      expect(await introspect(forged)).toEqual({ active: false });
    });
  });

  it('a partner JWT past its 24 hours is EXPIRED and no longer authenticates', async () => {
    const { jwt } = await partnerJwt();
    s.clock.advance(24 * 3600_000 + 1000);
    expect((await verifyPartner(jwt)).code).toBe('EXPIRED');
    expect(await asBearer(jwt)).toEqual(['UNAUTHENTICATED']);
  });
});
