import { errorCode, graphql, ISSUE_TOKEN, REVOKE_TOKEN, VERIFY_TOKEN, type GraphQLResponse } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import type { Clock } from '../../../src/app/clock';
import { TestClock } from '../../helpers/test-clock';

const TOKEN_QUERY = `query Token($id: ID!) { token(id: $id) { id tenantId name status } }`;
const TOKENS_QUERY = `query Tokens($first: Int, $after: String, $filter: TokenFilter) {
  tokens(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name status kind } }
  }
}`;

function expectNoStackTraces(response: GraphQLResponse) {
  expect(response.raw).not.toMatch(/stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/);
}

/** Tenants unique per run, so the suite also runs against a shared, long-lived event store. */
const RUN = Math.random().toString(36).slice(2, 8);
const TENANT_A = `tenant-a-${RUN}`;
const TENANT_B = `tenant-b-${RUN}`;
const TENANT_LIST = `tenant-list-${RUN}`;

/** Runs against any gateway factory, so every event store adapter passes the same end-to-end suite. */
export function describeTokenSecurity(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`token operations: roles, tenants, input (${adapter})`, () => {
    let gw: TestGateway;
    const clock = new TestClock();
    let adminA: string;
    let adminB: string;
    let readerA: string;
    let writerA: string;

    beforeAll(async () => {
      gw = await start({ clock });
      ({ secret: adminA } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: TENANT_A, roles: ['keyledger:admin'] }));
      ({ secret: adminB } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin b', tenantId: TENANT_B, roles: ['keyledger:admin'] }));
      ({ secret: readerA } = await issueToken(gw.url, adminA, { name: 'reader', roles: ['keyledger:tokens:read'] }));
      ({ secret: writerA } = await issueToken(gw.url, adminA, { name: 'writer', roles: ['keyledger:tokens:write'] }));
    });
    afterAll(async () => gw.stop());

    describe('authentication', () => {
      it.each([
        ['issueToken', ISSUE_TOKEN, { input: { name: 'x' } }],
        ['revokeToken', REVOKE_TOKEN, { input: { id: 'tok_x' } }],
        ['token', TOKEN_QUERY, { id: 'tok_x' }],
        ['tokens', TOKENS_QUERY, {}],
        ['verifyToken', VERIFY_TOKEN, { token: 'klt_x' }],
        ['viewer', '{ viewer { id } }', {}],
      ])('%s without a bearer is UNAUTHENTICATED', async (_name, query, variables) => {
        const response = await graphql(gw.url, query, variables);
        expect(errorCode(response)).toBe('UNAUTHENTICATED');
        expectNoStackTraces(response);
      });

      it('a garbage or non-Bearer Authorization header is UNAUTHENTICATED', async () => {
        for (const header of ['Bearer nonsense', 'Basic dXNlcjpwYXNz', 'Bearer', `Bearer ${'x'.repeat(5000)}`]) {
          const response = await graphql(gw.url, '{ viewer { id } }', {}, undefined, { authorization: header });
          expect(errorCode(response)).toBe('UNAUTHENTICATED');
        }
      });

      it('a revoked credential no longer authenticates', async () => {
        const { secret, id } = await issueToken(gw.url, adminA, { name: 'short-lived', roles: ['keyledger:tokens:read'] });
        expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, secret))).toBeUndefined();
        await graphql(gw.url, REVOKE_TOKEN, { input: { id } }, adminA);
        const response = await graphql(gw.url, '{ viewer { id } }', {}, secret);
        expect(errorCode(response)).toBe('UNAUTHENTICATED');
        expect(response.errors![0].message).toMatch(/revoked/);
      });

      it('viewer describes the caller', async () => {
        const response = await graphql(gw.url, '{ viewer { tenantId roles } }', {}, readerA);
        expect(response.data!.viewer).toEqual({ tenantId: TENANT_A, roles: ['keyledger:tokens:read'] });
      });
    });

    describe('roles', () => {
      it('a token with only keyledger:tokens:read cannot issue', async () => {
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'nope' } }, readerA);
        expect(errorCode(response)).toBe('FORBIDDEN');
        expect(response.data).toBeNull();
      });

      it('a tenant role named like an admin grants nothing', async () => {
        const { secret } = await issueToken(gw.url, adminA, { name: 'fake admin', roles: ['admin', 'keyledger-admin'] });
        expect(errorCode(await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'x' } }, secret))).toBe('FORBIDDEN');
        expect(errorCode(await graphql(gw.url, TOKEN_QUERY, { id: 'tok_x' }, secret))).toBe('FORBIDDEN');
      });

      it('a caller cannot grant a keyledger role it lacks', async () => {
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'escalate', roles: ['keyledger:admin'] } }, writerA);
        expect(errorCode(response)).toBe('FORBIDDEN');
        expect(response.errors![0].message).toContain('keyledger:admin');
      });

      it('a caller can grant tenant roles and keyledger roles it holds', async () => {
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'ok', roles: ['orders:write', 'keyledger:tokens:read'] } }, writerA);
        expect(response.errors).toBeUndefined();
        expect(response.data!.issueToken.token.roles).toEqual(['keyledger:tokens:read', 'orders:write']);
      });

      it('an unknown keyledger role is bad input, not a silent grant', async () => {
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'typo', roles: ['keyledger:tokens:wirte'] } }, adminA);
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
      });

      it('a writer cannot revoke a token that holds roles it lacks', async () => {
        const { id } = await issueToken(gw.url, adminA, { name: 'second admin', roles: ['keyledger:admin'] });
        const response = await graphql(gw.url, REVOKE_TOKEN, { input: { id } }, writerA);
        expect(errorCode(response)).toBe('FORBIDDEN');
        const check = await graphql(gw.url, TOKEN_QUERY, { id }, adminA);
        expect(check.data!.token.status).toBe('ACTIVE');
      });

      it('only root may act in another tenant', async () => {
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'cross', tenantId: TENANT_B } }, adminA);
        expect(errorCode(response)).toBe('FORBIDDEN');
      });

      it('verifyToken reports INSUFFICIENT_ROLES when a required role is missing', async () => {
        const { secret } = await issueToken(gw.url, adminA, { name: 'orders', roles: ['orders:read'] });
        const ok = await graphql(gw.url, VERIFY_TOKEN, { token: secret, requiredRoles: ['orders:read'] }, readerA);
        expect(ok.data!.verifyToken.code).toBe('VALID');
        const missing = await graphql(gw.url, VERIFY_TOKEN, { token: secret, requiredRoles: ['orders:read', 'orders:write'] }, readerA);
        expect(missing.data!.verifyToken).toMatchObject({ valid: false, code: 'INSUFFICIENT_ROLES' });
      });
    });

    describe('tenants', () => {
      let tokenOfA: { id: string; secret: string };

      beforeAll(async () => {
        tokenOfA = await issueToken(gw.url, adminA, { name: 'tenant a secret thing' });
      });

      it("tenant B's admin reads tenant A's token as null", async () => {
        const response = await graphql(gw.url, TOKEN_QUERY, { id: tokenOfA.id }, adminB);
        expect(response.errors).toBeUndefined();
        expect(response.data!.token).toBeNull();
      });

      it("tenant B's admin cannot revoke tenant A's token and learns nothing (NOT_FOUND)", async () => {
        const response = await graphql(gw.url, REVOKE_TOKEN, { input: { id: tokenOfA.id } }, adminB);
        expect(errorCode(response)).toBe('NOT_FOUND');
        const check = await graphql(gw.url, TOKEN_QUERY, { id: tokenOfA.id }, adminA);
        expect(check.data!.token.status).toBe('ACTIVE');
      });

      it("tenant B verifying tenant A's token gets NOT_FOUND and no token", async () => {
        const response = await graphql(gw.url, VERIFY_TOKEN, { token: tokenOfA.secret }, adminB);
        expect(response.data!.verifyToken).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
      });

      it("tenant B's listing holds none of tenant A's tokens", async () => {
        const response = await graphql(gw.url, TOKENS_QUERY, { first: 100 }, adminB);
        const names = response.data!.tokens.edges.map((edge: any) => edge.node.name);
        expect(names).toEqual(['admin b']);
        expect(response.data!.tokens.totalCount).toBe(1);
      });

      it('a non-root filter naming another tenant is FORBIDDEN', async () => {
        const response = await graphql(gw.url, TOKENS_QUERY, { filter: { tenantId: TENANT_A } }, adminB);
        expect(errorCode(response)).toBe('FORBIDDEN');
      });

      it('root reads any tenant', async () => {
        const response = await graphql(gw.url, TOKEN_QUERY, { id: tokenOfA.id }, ROOT_SECRET);
        expect(response.data!.token).toMatchObject({ id: tokenOfA.id, tenantId: TENANT_A });
      });
    });

    describe('expiry', () => {
      it('an expired token verifies as EXPIRED, lists as EXPIRED and no longer authenticates', async () => {
        const expiresAt = new Date(clock.now().getTime() + 60_000).toISOString();
        const { secret, id } = await issueToken(gw.url, adminA, { name: 'expiring', roles: ['keyledger:tokens:read'], expiresAt });
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: secret }, adminA)).data!.verifyToken.code).toBe('VALID');
        clock.advance(60_001);
        const verification = await graphql(gw.url, VERIFY_TOKEN, { token: secret }, adminA);
        expect(verification.data!.verifyToken).toMatchObject({ valid: false, code: 'EXPIRED', token: { id, status: 'EXPIRED' } });
        const listed = await graphql(gw.url, TOKENS_QUERY, { filter: { status: 'EXPIRED' } }, adminA);
        expect(listed.data!.tokens.edges.map((edge: any) => edge.node.id)).toContain(id);
        expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, secret))).toBe('UNAUTHENTICATED');
      });

      it('expiresAt in the past is BAD_USER_INPUT', async () => {
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'late', expiresAt: new Date(clock.now().getTime() - 1000).toISOString() } }, adminA);
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(response.errors![0].message).toMatch(/expiresAt must be in the future/);
      });
    });

    describe('listing', () => {
      it('pages newest first with stable cursors and a total count', async () => {
        const tenant = { tenantId: TENANT_LIST };
        const { secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'list admin', roles: ['keyledger:admin'], ...tenant });
        for (let i = 0; i < 5; i++) await issueToken(gw.url, admin, { name: `item ${i}` });
        const seen: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page: GraphQLResponse = await graphql(gw.url, TOKENS_QUERY, { first: 2, after, filter: { search: 'item' } }, admin);
          expect(page.data!.tokens.totalCount).toBe(5);
          seen.push(...page.data!.tokens.edges.map((edge: any) => edge.node.name));
          if (!page.data!.tokens.pageInfo.hasNextPage) break;
          after = page.data!.tokens.pageInfo.endCursor;
        }
        expect(seen).toEqual(['item 4', 'item 3', 'item 2', 'item 1', 'item 0']);
      });

      it('rejects a forged cursor and an oversized page', async () => {
        expect(errorCode(await graphql(gw.url, TOKENS_QUERY, { after: 'bm9wZQ' }, adminA))).toBe('BAD_USER_INPUT');
        expect(errorCode(await graphql(gw.url, TOKENS_QUERY, { first: 1000 }, adminA))).toBe('BAD_USER_INPUT');
        expect(errorCode(await graphql(gw.url, TOKENS_QUERY, { first: -1 }, adminA))).toBe('BAD_USER_INPUT');
      });
    });

    describe('bad input writes nothing', () => {
      const cases: Array<[string, () => { body?: string; variables?: Record<string, unknown> }]> = [
        ['a number for the name', () => ({ variables: { input: { name: 123 } } })],
        ['an unknown enum value', () => ({ variables: { input: { name: 'x', kind: 'SUPER_TOKEN' } } })],
        ['an empty name', () => ({ variables: { input: { name: '   ' } } })],
        ['a 100 KB name', () => ({ variables: { input: { name: 'n'.repeat(100_000) } } })],
        ['a role list of objects', () => ({ variables: { input: { name: 'x', roles: [{ a: 1 }] } } })],
        ['a malformed date', () => ({ variables: { input: { name: 'x', expiresAt: 'tomorrow' } } })],
        ['a missing input', () => ({ variables: {} })],
      ];

      it.each(cases)('%s → BAD_USER_INPUT', async (_label, make) => {
        const before = await settledHeadPosition(gw.gateway);
        const response = await graphql(gw.url, ISSUE_TOKEN, make().variables ?? {}, adminA);
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(response.errors![0].message.length).toBeLessThan(400);
        expectNoStackTraces(response);
        expect(await gw.gateway.store.headPosition()).toBe(before);
      });

      it('a 1 MB string is refused with BAD_USER_INPUT before it is parsed', async () => {
        const before = await settledHeadPosition(gw.gateway);
        const response = await graphql(gw.url, ISSUE_TOKEN, { input: { name: 'm'.repeat(1024 * 1024) } }, adminA);
        expect(response.status).toBe(413);
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(await gw.gateway.store.headPosition()).toBe(before);
      });

      it('invalid JSON and invalid GraphQL are BAD_USER_INPUT', async () => {
        const badJson = await fetch(`${gw.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
        expect(badJson.status).toBe(400);
        expect(((await badJson.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
        expect(errorCode(await graphql(gw.url, '{ viewer { id ', {}, adminA))).toBe('BAD_USER_INPUT');
        expect(errorCode(await graphql(gw.url, '{ noSuchField }', {}, adminA))).toBe('BAD_USER_INPUT');
      });

      it('a secret sent as a wrong-typed value is not echoed back', async () => {
        const response = await graphql(gw.url, VERIFY_TOKEN, { token: { value: 'sk_live_DO_NOT_ECHO_123' } }, adminA);
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(response.raw).not.toContain('DO_NOT_ECHO');
      });
    });
  });
}
