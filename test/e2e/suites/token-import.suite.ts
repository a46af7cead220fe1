import type { Clock } from '../../../src/app/clock';
import { SecretHasher } from '../../../src/crypto/secret-hash';
import { errorCode, graphql } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import { expectNoStackTraces, expectNotWritten, IMPORT, TOKEN, uniqueTenant, VERIFY, wholeLogText } from './token-operations';

/** importToken: a secret supplied once, hashed with argon2id; rate-limited failures. */
export function describeTokenImport(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`importToken over GraphQL (${adapter})`, () => {
    let gw: TestGateway;
    const tenant = uniqueTenant('import');
    const otherTenant = uniqueTenant('import-other');
    let admin: string;
    let reader: string;
    let otherAdmin: string;

    const importToken = (input: Record<string, unknown>, bearer = admin) => graphql(gw.url, IMPORT, { input }, bearer);
    const verify = async (token: string, bearer = reader) => graphql(gw.url, VERIFY, { token }, bearer);

    beforeAll(async () => {
      gw = await start({});
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: tenant, roles: ['keyledger:admin'] }));
      ({ secret: otherAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: otherTenant, roles: ['keyledger:admin'] }));
      ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
    });
    afterAll(async () => gw.stop());

    it('imports a secret that then verifies like any other, and shows only its display form', async () => {
      const secret = 'legacy-api-key-0123456789-ABCDEF';
      const response = await importToken({ name: 'legacy', secret, roles: ['orders:read'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() });
      expect(response.errors).toBeUndefined();
      const token = response.data!.importToken;
      expect(token).toMatchObject({ name: 'legacy', kind: 'API_TOKEN', roles: ['orders:read'], status: 'ACTIVE', display: 'klt_lega' });
      expect(response.raw).not.toContain(secret);
      const verification = await verify(secret);
      expect(verification.data!.verifyToken).toEqual({ valid: true, code: 'VALID', token: { id: token.id, status: 'ACTIVE' } });
      expect((await graphql(gw.url, '{ viewer { id } }', {}, secret)).data!.viewer.id).toBe(token.id);
    });

    it('stores only an argon2id hash: the secret is in no event and no log line', async () => {
      const secret = 'never-written-anywhere-0123456789';
      const { data } = await importToken({ name: 'hashed', secret });
      const events = await gw.gateway.store.readStream(`token-${data!.importToken.id}`);
      expect((events[0].data as any).secretHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expectNotWritten(await wholeLogText(gw), secret);
      expect(gw.logs()).not.toContain(secret);
    });

    it('imports a webhook token for an owner, and a secret shaped like another vendor\'s prefixed token', async () => {
      const hook = await importToken({ name: 'hook', kind: 'WEBHOOK_TOKEN', ownerId: 'ana', secret: 'zapi-key-from-before-0123456789' });
      expect(hook.data!.importToken).toMatchObject({ kind: 'WEBHOOK_TOKEN', ownerId: 'ana', display: 'klw_zapi' });
      const prefixed = 'ghp_0123456789abcdefABCDEF0123456789abcd';
      expect((await importToken({ name: 'github style', secret: prefixed })).errors).toBeUndefined();
      expect((await verify(prefixed)).data!.verifyToken.code).toBe('VALID');
      expect((await verify('ghp_0123456789abcdefABCDEF0123456789abce')).data!.verifyToken.code).toBe('MALFORMED');
    });

    it.each([
      ['too short', 'short-secret'],
      ['with a space', 'has a space inside 0123456789'],
      ['non-ASCII', 'sécret-0123456789-0123456789'],
      ['over 512 characters', 's'.repeat(513)],
    ])('refuses a secret %s with BAD_USER_INPUT, without echoing it', async (_label, secret) => {
      const before = await settledHeadPosition(gw.gateway);
      const response = await importToken({ name: 'bad', secret });
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors![0].extensions!.field).toBe('secret');
      expect(response.raw).not.toContain(secret);
      expect(await gw.gateway.store.headPosition()).toBe(before);
    });

    it('refuses an integration key, and input errors a decider finds', async () => {
      expect(errorCode(await importToken({ name: 'k', kind: 'INTEGRATION_KEY', secret: 'integration-secret-0123456789' }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await importToken({ name: 'hook', kind: 'WEBHOOK_TOKEN', secret: 'webhook-secret-0123456789' }))).toBe('BAD_USER_INPUT');
      expect(errorCode(await importToken({ name: '', secret: 'empty-name-secret-0123456789' }))).toBe('BAD_USER_INPUT');
      const past = new Date(Date.now() - 60_000).toISOString();
      expect(errorCode(await importToken({ name: 'late', secret: 'expired-secret-0123456789', expiresAt: past }))).toBe('BAD_USER_INPUT');
    });

    it('a secret sent as a wrong-typed value is not echoed', async () => {
      const response = await importToken({ name: 'x', secret: { value: 'DO_NOT_ECHO_THIS_SECRET_123' } });
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.raw).not.toContain('DO_NOT_ECHO');
    });

    describe('security', () => {
      it('needs a bearer and keyledger:tokens:write', async () => {
        const input = { name: 'x', secret: 'unauthorised-secret-0123456789' };
        const anonymous = await importToken(input, '');
        expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
        expectNoStackTraces(anonymous);
        expect(anonymous.raw).not.toContain(input.secret);
        expect(errorCode(await importToken(input, reader))).toBe('FORBIDDEN');
      });

      it('no escalation, and only root imports into another tenant', async () => {
        const { secret: writer } = await issueToken(gw.url, admin, { name: 'writer', roles: ['keyledger:tokens:write'] });
        expect(errorCode(await importToken({ name: 'x', secret: 'escalating-secret-0123456789', roles: ['keyledger:admin'] }, writer))).toBe('FORBIDDEN');
        expect(errorCode(await importToken({ name: 'x', secret: 'cross-tenant-secret-0123456789', tenantId: otherTenant }))).toBe('FORBIDDEN');
      });

      it("another tenant verifying an imported secret gets NOT_FOUND; reading the token is null", async () => {
        const secret = 'tenant-scoped-secret-0123456789';
        const { data } = await importToken({ name: 'scoped', secret });
        expect((await verify(secret, otherAdmin)).data!.verifyToken).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
        expect((await graphql(gw.url, TOKEN, { id: data!.importToken.id }, otherAdmin)).data!.token).toBeNull();
      });
    });

    describe('rate limiting failed verifications', () => {
      const SAME_TAG = 'same-tag-';
      let argon2Verify: jest.SpyInstance;
      let lookupTag: jest.SpyInstance;

      beforeAll(() => {
        // A guess aimed at one stored secret shares its lookup tag; finding one for real takes ~2^24 HMACs, so the tag is pinned here.
        const original = SecretHasher.prototype.lookupTag;
        lookupTag = jest.spyOn(SecretHasher.prototype, 'lookupTag').mockImplementation(function (this: SecretHasher, secret: string) {
          return secret.startsWith(SAME_TAG) ? 'ffffff' : original.call(this, secret);
        });
        argon2Verify = jest.spyOn(SecretHasher.prototype, 'argon2Verify');
      });
      afterAll(() => {
        lookupTag.mockRestore();
        argon2Verify.mockRestore();
      });

      it('after 5 failed guesses at one imported key, verification answers RATE_LIMITED with retryAfter and runs no argon2', async () => {
        const secret = `${SAME_TAG}the-real-imported-secret`;
        expect((await importToken({ name: 'target', secret })).errors).toBeUndefined();
        for (let i = 0; i < 5; i++) {
          argon2Verify.mockClear();
          expect((await verify(`${SAME_TAG}wrong-guess-number-${i}`)).data!.verifyToken.code).toBe('NOT_FOUND');
          // Positive control: a guess the limiter lets through reaches argon2, so the spy is on the path.
          expect(argon2Verify).toHaveBeenCalledWith(expect.any(String), `${SAME_TAG}wrong-guess-number-${i}`);
        }
        argon2Verify.mockClear();
        const limited = await verify(`${SAME_TAG}wrong-guess-number-5`);
        expect(errorCode(limited)).toBe('RATE_LIMITED');
        expect(limited.errors![0].extensions!.retryAfter).toBeGreaterThan(0);
        expect(limited.errors![0].extensions!.retryAfter).toBeLessThanOrEqual(60);
        expect(limited.raw).not.toContain('wrong-guess');
        expect(argon2Verify).not.toHaveBeenCalled();
        // Also as a bearer: no argon2, and the caller learns it is limited.
        expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, `${SAME_TAG}wrong-guess-number-6`))).toBe('RATE_LIMITED');
        expect(argon2Verify).not.toHaveBeenCalled();
      });
    });
  });
}
