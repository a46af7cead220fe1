import { SignJWT } from 'jose';
import type { Clock } from '../../../src/app/clock';
import { errorCode, graphql, type GraphQLResponse } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import { TestClock } from '../../helpers/test-clock';
import { expectNoStackTraces, expectNotWritten, ISSUE, REVOKE, ROTATE, TOKEN, TOKENS, uniqueTenant, VERIFY, wholeLogText } from './token-operations';

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Issue by kind (API_TOKEN with code and bot identity, WEBHOOK_TOKEN, INTEGRATION_KEY), verification forms, listing. */
export function describeTokenKinds(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`token kinds over GraphQL (${adapter})`, () => {
    let gw: TestGateway;
    const clock = new TestClock();
    const tenant = uniqueTenant('kinds');
    const otherTenant = uniqueTenant('kinds-other');
    let admin: string;
    let otherAdmin: string;
    let reader: string;

    const issue = (input: Record<string, unknown>, bearer = admin) => graphql(gw.url, ISSUE, { input }, bearer);
    const verify = async (token: string, bearer = reader) => (await graphql(gw.url, VERIFY, { token }, bearer)).data!.verifyToken;

    beforeAll(async () => {
      gw = await start({ clock });
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: tenant, roles: ['keyledger:admin'] }));
      ({ secret: otherAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'other admin', tenantId: otherTenant, roles: ['keyledger:admin'] }));
      ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
    });
    afterAll(async () => gw.stop());

    describe('API_TOKEN with a code and a bot identity', () => {
      it('issues with name, code, bot name, avatar and roles; the code is unique in the tenant, case-insensitively', async () => {
        const response = await issue({
          name: 'Support bot',
          code: 'support-bot',
          botName: 'Support',
          avatarUrl: 'https://cdn.example.com/support.png',
          roles: ['messages:send'],
        });
        expect(response.errors).toBeUndefined();
        expect(response.data!.issueToken.token).toMatchObject({
          kind: 'API_TOKEN',
          code: 'support-bot',
          botName: 'Support',
          avatarUrl: 'https://cdn.example.com/support.png',
          roles: ['messages:send'],
        });
        const again = await issue({ name: 'Another', code: 'SUPPORT-BOT' });
        expect(errorCode(again)).toBe('CONFLICT');
        expect(again.errors![0].message).toMatch(/"SUPPORT-BOT" is already used/);
      });

      it('the same code is free in another tenant', async () => {
        await issue({ name: 'mine', code: 'shared-code' });
        expect((await issue({ name: 'theirs', code: 'shared-code' }, otherAdmin)).errors).toBeUndefined();
      });

      it('concurrent issues with one code: exactly one succeeds, the others get CONFLICT', async () => {
        const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => issue({ name: `racer ${i}`, code: 'race' })));
        expect(responses.filter((response) => !response.errors)).toHaveLength(1);
        expect(responses.filter((response) => errorCode(response) === 'CONFLICT')).toHaveLength(4);
        const listed = await graphql(gw.url, TOKENS, { filter: { code: 'race' } }, admin);
        expect(listed.data!.tokens.totalCount).toBe(1);
      });

      it('a revoked token gives its code back', async () => {
        const first = await issue({ name: 'first', code: 'reusable' });
        await graphql(gw.url, REVOKE, { input: { id: first.data!.issueToken.token.id } }, admin);
        const second = await issue({ name: 'second', code: 'reusable' });
        expect(second.errors).toBeUndefined();
      });

      it('an expired token gives its code back', async () => {
        const expiresAt = new Date(clock.now().getTime() + 1000).toISOString();
        await issue({ name: 'short', code: 'expiring-code', expiresAt });
        expect(errorCode(await issue({ name: 'too early', code: 'expiring-code' }))).toBe('CONFLICT');
        clock.advance(1000);
        expect((await issue({ name: 'after expiry', code: 'expiring-code' })).errors).toBeUndefined();
      });

      it.each([
        ['an http avatar', { avatarUrl: 'http://cdn.example.com/a.png' }, 'avatarUrl'],
        ['a code with a slash', { code: 'a/b' }, 'code'],
        ['an owner on an API token', { ownerId: 'ana' }, 'ownerId'],
      ])('%s is BAD_USER_INPUT and writes nothing', async (_label, fields, field) => {
        const before = await settledHeadPosition(gw.gateway);
        const response = await issue({ name: 'bad', ...fields });
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(response.errors![0].extensions!.field).toBe(field);
        expect(await gw.gateway.store.headPosition()).toBe(before);
      });

      it('invalid input never reserves the code', async () => {
        expect(errorCode(await issue({ name: '', code: 'kept-free' }))).toBe('BAD_USER_INPUT');
        expect((await issue({ name: 'valid', code: 'kept-free' })).errors).toBeUndefined();
      });
    });

    describe('WEBHOOK_TOKEN', () => {
      it('is bound to its owner; an owner may hold several, each named, and listing by owner finds them', async () => {
        for (const name of ['GitLab project', 'Jira board']) {
          const response = await issue({ name, kind: 'WEBHOOK_TOKEN', ownerId: 'ana@example.com' });
          expect(response.errors).toBeUndefined();
          expect(response.data!.issueToken.secret).toMatch(/^klw_/);
          expect(response.data!.issueToken.token).toMatchObject({ kind: 'WEBHOOK_TOKEN', ownerId: 'ana@example.com', name });
        }
        await issue({ name: 'Other user hook', kind: 'WEBHOOK_TOKEN', ownerId: 'bo@example.com' });
        const listed = await graphql(gw.url, TOKENS, { filter: { ownerId: 'ana@example.com' } }, admin);
        expect(listed.data!.tokens.totalCount).toBe(2);
        expect(listed.data!.tokens.edges.map((edge: any) => edge.node.name)).toEqual(['Jira board', 'GitLab project']);
      });

      it('without an owner is BAD_USER_INPUT', async () => {
        const response = await issue({ name: 'orphan', kind: 'WEBHOOK_TOKEN' });
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(response.errors![0].message).toMatch(/ownerId is required/);
      });

      it("another tenant's listing by the same owner is empty", async () => {
        const listed = await graphql(gw.url, TOKENS, { filter: { ownerId: 'ana@example.com' } }, otherAdmin);
        expect(listed.data!.tokens.totalCount).toBe(0);
      });
    });

    describe('INTEGRATION_KEY', () => {
      let key: { id: string; secret: string };

      beforeAll(async () => {
        const response = await issue({ name: 'My custom key', kind: 'INTEGRATION_KEY', integrationId: 'int-main' });
        expect(response.errors).toBeUndefined();
        key = { id: response.data!.issueToken.token.id, secret: response.data!.issueToken.secret };
      });

      const jwt = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, secret = key.secret) =>
        new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.id, ...header }).sign(new TextEncoder().encode(secret));
      const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;

      it('requires an integrationId', async () => {
        expect(errorCode(await issue({ name: 'k', kind: 'INTEGRATION_KEY' }))).toBe('BAD_USER_INPUT');
      });

      it('verifies the raw secret, keyId:secret, the Basic form and an HS256 JWT with kid = key id', async () => {
        for (const form of [key.secret, `${key.id}:${key.secret}`, basic(`${key.id}:${key.secret}`), await jwt({ scope: 'app' })]) {
          expect(await verify(form)).toEqual({ valid: true, code: 'VALID', token: { id: key.id, status: 'ACTIVE' } });
        }
        expect(await verify(await jwt({ exp: seconds(clock.now()) + 60 }))).toMatchObject({ code: 'VALID' });
      });

      it('rejects JWTs: wrong kid NOT_FOUND, wrong signature NOT_FOUND, alg none MALFORMED, expired EXPIRED', async () => {
        expect(await verify(await jwt({}, { kid: 'tok_0000000000000000000000' }))).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
        expect(await verify(await jwt({}, {}, 'kli_not-the-secret-at-all-0000000000'))).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
        const payload = Buffer.from(JSON.stringify({ scope: 'app' })).toString('base64url');
        const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: key.id })).toString('base64url')}.${payload}.`;
        expect(await verify(none)).toEqual({ valid: false, code: 'MALFORMED', token: null });
        expect(await verify(await jwt({ exp: seconds(clock.now()) - 1 }))).toMatchObject({ valid: false, code: 'EXPIRED' });
        expect(await verify(await jwt({}, { alg: 'HS512' }))).toMatchObject({ valid: false, code: 'MALFORMED' });
      });

      it('a pair naming another key, or a Basic form of another kind of token, is NOT_FOUND', async () => {
        const { secret: apiSecret, id: apiId } = await issueToken(gw.url, admin, { name: 'plain' });
        expect(await verify(`${apiId}:${apiSecret}`)).toMatchObject({ valid: false, code: 'NOT_FOUND' });
        expect(await verify(`tok_0000000000000000000000:${key.secret}`)).toMatchObject({ valid: false, code: 'NOT_FOUND' });
        expect(await verify(basic(`${key.id}:kli_wrong`))).toMatchObject({ valid: false });
      });

      it("another tenant verifying the key in any form gets NOT_FOUND and no token", async () => {
        for (const form of [key.secret, `${key.id}:${key.secret}`, await jwt({})]) {
          expect(await verify(form, otherAdmin)).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
        }
      });

      it('a JWT signed with a rotated-out secret verifies during the grace period, and after revocation every form is REVOKED', async () => {
        const response = await issue({ name: 'rotating', kind: 'INTEGRATION_KEY', integrationId: 'int-rotate' });
        const id = response.data!.issueToken.token.id;
        const oldSecret = response.data!.issueToken.secret;
        const rotated = await graphql(gw.url, ROTATE, { input: { id, gracePeriodSeconds: 60 } }, admin);
        const newSecret = rotated.data!.rotateToken.secret;
        const sign = (secret: string) => new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: id }).sign(new TextEncoder().encode(secret));
        expect(await verify(await sign(oldSecret))).toMatchObject({ code: 'VALID' });
        expect(await verify(await sign(newSecret))).toMatchObject({ code: 'VALID' });
        clock.advance(60_000);
        expect(await verify(await sign(oldSecret))).toMatchObject({ code: 'REVOKED' });
        expect(await verify(await sign(newSecret))).toMatchObject({ code: 'VALID' });
        await graphql(gw.url, REVOKE, { input: { id } }, admin);
        for (const form of [newSecret, `${id}:${newSecret}`, await sign(newSecret)]) expect(await verify(form)).toMatchObject({ code: 'REVOKED' });
      });

      it('at most 10 active keys per integration; a revoked key frees its slot', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 10; i++) {
          const response = await issue({ name: `key ${i}`, kind: 'INTEGRATION_KEY', integrationId: 'int-full' });
          expect(response.errors).toBeUndefined();
          ids.push(response.data!.issueToken.token.id);
        }
        const eleventh = await issue({ name: 'key 10', kind: 'INTEGRATION_KEY', integrationId: 'int-full' });
        expect(errorCode(eleventh)).toBe('CONFLICT');
        expect(eleventh.errors![0].message).toMatch(/already has 10 active keys/);
        expect((await issue({ name: 'elsewhere', kind: 'INTEGRATION_KEY', integrationId: 'int-other' })).errors).toBeUndefined();
        await graphql(gw.url, REVOKE, { input: { id: ids[4] } }, admin);
        expect((await issue({ name: 'replacement', kind: 'INTEGRATION_KEY', integrationId: 'int-full' })).errors).toBeUndefined();
        expect(errorCode(await issue({ name: 'one too many', kind: 'INTEGRATION_KEY', integrationId: 'int-full' }))).toBe('CONFLICT');
      });

      it('concurrent issues into a full-but-one integration: exactly one wins', async () => {
        for (let i = 0; i < 9; i++) await issue({ name: `key ${i}`, kind: 'INTEGRATION_KEY', integrationId: 'int-race' });
        const responses = await Promise.all(
          Array.from({ length: 4 }, (_, i) => issue({ name: `racer ${i}`, kind: 'INTEGRATION_KEY', integrationId: 'int-race' })),
        );
        expect(responses.filter((response) => !response.errors)).toHaveLength(1);
        expect(responses.filter((response) => errorCode(response) === 'CONFLICT')).toHaveLength(3);
      });

      it('the secret is in no event, no response but the issue, and no log line', async () => {
        const read = await graphql(gw.url, TOKEN, { id: key.id }, admin);
        expect(read.raw).not.toContain(key.secret);
        const log = await wholeLogText(gw);
        expectNotWritten(log, key.secret);
        expect(log).toContain('sealedSecret');
        expect(gw.logs()).not.toContain(key.secret);
      });
    });

    describe('listing', () => {
      it('filters by kind, status, role, code and name, with a total count and stable cursors', async () => {
        const listTenant = uniqueTenant('kinds-list');
        const { secret: listAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'list admin', tenantId: listTenant, roles: ['keyledger:admin'] });
        await issueToken(gw.url, listAdmin, { name: 'alpha', roles: ['orders:read'], code: 'alpha' });
        await issueToken(gw.url, listAdmin, { name: 'beta', roles: ['orders:read', 'orders:write'] });
        const gamma = await issueToken(gw.url, listAdmin, { name: 'gamma hook', kind: 'WEBHOOK_TOKEN', ownerId: 'cy' });
        await graphql(gw.url, REVOKE, { input: { id: gamma.id } }, listAdmin);
        const names = async (filter: Record<string, unknown>) => {
          const response: GraphQLResponse = await graphql(gw.url, TOKENS, { first: 100, filter }, listAdmin);
          expect(response.errors).toBeUndefined();
          return response.data!.tokens.edges.map((edge: any) => edge.node.name);
        };
        expect(await names({ role: 'orders:read' })).toEqual(['beta', 'alpha']);
        expect(await names({ role: 'orders:write' })).toEqual(['beta']);
        expect(await names({ role: 'keyledger:admin' })).toEqual(['list admin']);
        expect(await names({ code: 'ALPHA' })).toEqual(['alpha']);
        expect(await names({ kind: 'WEBHOOK_TOKEN' })).toEqual(['gamma hook']);
        expect(await names({ status: 'REVOKED' })).toEqual(['gamma hook']);
        expect(await names({ status: 'ACTIVE', search: 'A' })).toEqual(['beta', 'alpha', 'list admin']);
        expect(await names({ role: 'orders:read', kind: 'API_TOKEN', status: 'ACTIVE' })).toEqual(['beta', 'alpha']);
      });

      it('lastUsedAt follows successful verification and authentication, without an event per use', async () => {
        // No keyledger role: verifications of privileged tokens are recorded as access events on purpose (a timer flushes them).
        const used = await issueToken(gw.url, admin, { name: 'used', roles: ['orders:read'] });
        expect((await graphql(gw.url, TOKEN, { id: used.id }, admin)).data!.token.lastUsedAt).toBeNull();
        const before = await settledHeadPosition(gw.gateway);
        clock.advance(5000);
        const verifiedAt = clock.now().toISOString();
        expect(await verify(used.secret)).toMatchObject({ code: 'VALID' });
        expect((await graphql(gw.url, TOKEN, { id: used.id }, admin)).data!.token.lastUsedAt).toBe(verifiedAt);
        clock.advance(5000);
        await graphql(gw.url, '{ viewer { id } }', {}, used.secret);
        const listed = await graphql(gw.url, TOKENS, { filter: { search: 'used' } }, admin);
        expect(listed.data!.tokens.edges[0].node.lastUsedAt).toBe(clock.now().toISOString());
        expect(await gw.gateway.store.headPosition()).toBe(before);
      });

      it('a failed verification is not a use', async () => {
        const unused = await issueToken(gw.url, admin, { name: 'unused', roles: [] });
        await graphql(gw.url, VERIFY, { token: unused.secret, requiredRoles: ['missing'] }, reader);
        await graphql(gw.url, VERIFY, { token: unused.secret }, otherAdmin);
        expect((await graphql(gw.url, TOKEN, { id: unused.id }, admin)).data!.token.lastUsedAt).toBeNull();
      });
    });

    describe('security', () => {
      it('issuing any kind needs a bearer and keyledger:tokens:write', async () => {
        for (const input of [
          { name: 'x', code: 'c' },
          { name: 'x', kind: 'WEBHOOK_TOKEN', ownerId: 'o' },
          { name: 'x', kind: 'INTEGRATION_KEY', integrationId: 'i' },
        ]) {
          const anonymous = await graphql(gw.url, ISSUE, { input });
          expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
          expectNoStackTraces(anonymous);
          expect(errorCode(await issue(input, reader))).toBe('FORBIDDEN');
        }
      });

      it('a forbidden issue with a code reserves nothing', async () => {
        expect(errorCode(await issue({ name: 'x', code: 'not-taken' }, reader))).toBe('FORBIDDEN');
        expect((await issue({ name: 'x', code: 'not-taken' })).errors).toBeUndefined();
      });

      it("only root issues into another tenant; a code or integration there is that tenant's", async () => {
        expect(errorCode(await issue({ name: 'x', code: 'cross', tenantId: otherTenant }))).toBe('FORBIDDEN');
        expect((await issue({ name: 'x', code: 'cross', tenantId: otherTenant }, ROOT_SECRET)).errors).toBeUndefined();
        expect((await issue({ name: 'x', code: 'cross' })).errors).toBeUndefined();
      });
    });
  });
}
