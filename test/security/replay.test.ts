import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { Role } from '../../src/domain/access/roles';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { createPartnerCredential, graphqlExchange, postForm, VERIFY_PARTNER_ACCESS_TOKEN, basic } from '../helpers/partner-client';
import { appendedBy, codes, revokePartner, startSecurityGateway, TENANT_A, TENANT_B, type SecurityGateway } from './fixtures';

const ROTATE = 'mutation($input: RotateTokenInput!) { rotateToken(input: $input) { secret } }';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The same ES256 JWS with s replaced by n − s: a second signature of the same bytes under the same key. */
function ecdsaTwin(jws: string): string {
  const [header, payload, signature] = jws.split('.');
  const bytes = Buffer.from(signature, 'base64url');
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
  const twin = Buffer.concat([bytes.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex')]);
  return `${header}.${payload}.${twin.toString('base64url')}`;
}

const isLowS = (jws: string) => BigInt(`0x${Buffer.from(jws.split('.')[2], 'base64url').subarray(32).toString('hex')}`) <= P256_ORDER >> 1n;

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

  it("an HS256 JWT naming another tenant's key answers exactly as one naming a missing key, whatever else is wrong with it", async () => {
    const key = await issueToken(s.gw.url, ROOT_SECRET, { name: 'b probed key', kind: 'INTEGRATION_KEY', integrationId: 'int-b-probed', tenantId: TENANT_B });
    const missing = 'tok_0000000000000000000000';
    const sign = (header: Record<string, unknown>, secret: string) => {
      const input = `${b64url(header)}.${b64url({ scope: 'app' })}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const variants: Record<string, (kid: string) => string> = {
      'an unknown crit header': (kid) => sign({ alg: 'HS256', kid, crit: ['x-probe'], 'x-probe': 1 }, 'not-the-secret-0123456789'),
      'b64 false': (kid) => sign({ alg: 'HS256', kid, crit: ['b64'], b64: false }, 'not-the-secret-0123456789'),
      'a signature that is not base64url of anything': (kid) => `${b64url({ alg: 'HS256', kid })}.${b64url({})}.A`,
      'a wrong signature': (kid) => sign({ alg: 'HS256', kid }, 'not-the-secret-0123456789'),
    };
    const answers: Record<string, unknown> = {};
    for (const [name, jwt] of Object.entries(variants)) {
      answers[name] = {
        foreign: [(await graphql(s.gw.url, VERIFY_TOKEN, { token: jwt(key.id) }, reader)).data!.verifyToken, await introspect(jwt(key.id))],
        missing: [(await graphql(s.gw.url, VERIFY_TOKEN, { token: jwt(missing) }, reader)).data!.verifyToken, await introspect(jwt(missing))],
      };
    }
    const expected = [{ valid: false, code: 'NOT_FOUND', token: null }, { active: false }];
    expect(answers).toEqual(Object.fromEntries(Object.keys(variants).map((name) => [name, { foreign: expected, missing: expected }])));
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
      ['the genuine token with the other ECDSA signature of the same claims (its high-s twin)', async () => ecdsaTwin(genuine)],
      ['a header whose kid is not a string', async () => `${b64url({ ...decodeProtectedHeader(genuine), kid: true })}.${genuine.split('.').slice(1).join('.')}`],
      ['a header whose kid is an object', async () => `${b64url({ ...decodeProtectedHeader(genuine), kid: {} })}.${genuine.split('.').slice(1).join('.')}`],
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

    it('keyledger signs each token with the low s of its two ECDSA signatures, so a token has one encoding', async () => {
      const tokens = [genuine];
      for (let i = 0; i < 7; i++) tokens.push((await partnerJwt()).jwt);
      expect(tokens.filter((token) => !isLowS(token))).toEqual([]);
      expect((await verifyPartner(genuine)).code).toBe('VALID');
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
