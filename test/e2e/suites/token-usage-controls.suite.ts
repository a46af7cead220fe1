import type { Clock } from '../../../src/app/clock';
import { errorCode, graphql } from '../../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import { expectNoStackTraces, expectNotWritten, REVOKE, uniqueTenant, wholeLogText } from './token-operations';

const CONTROL_FIELDS = 'id name roles status enabled meta externalId';
const ISSUE = `mutation Issue($input: IssueTokenInput!) { issueToken(input: $input) { secret token { ${CONTROL_FIELDS} } } }`;
const TOKENS = `query Tokens($filter: TokenFilter) { tokens(first: 100, filter: $filter) { totalCount edges { node { id externalId } } } }`;
const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { ${CONTROL_FIELDS} } }`;
const VERIFY = `query Verify($token: String!, $requiredRoles: [String!]) {
  verifyToken(token: $token, requiredRoles: $requiredRoles) { valid code token { ${CONTROL_FIELDS} } }
}`;
const TOKEN_CONTROLS = `query Token($id: ID!) { token(id: $id) { ${CONTROL_FIELDS} revokedAt } }`;
const VERIFY_ANY_OF = `query Verify($token: String!, $requiredRoles: [String!], $anyOf: [[String!]!]) {
  verifyToken(token: $token, requiredRoles: $requiredRoles, anyOf: $anyOf) { valid code token { id } }
}`;
const VIEWER = '{ viewer { id } }';
const AUDIT_LOG = `query Audit($filter: AuditLogFilter) { auditLog(first: 100, filter: $filter) { edges { node { eventType resource { id } changes } } } }`;

/** The usage controls of a token at verification: pausing it, its meta, the customer it belongs to. */
export function describeTokenUsageControls(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`token usage controls over GraphQL (${adapter})`, () => {
    let gw: TestGateway;
    const tenant = uniqueTenant('controls');
    const otherTenant = uniqueTenant('controls-other');
    let admin: string;
    let reader: string;
    let otherAdmin: string;

    const update = (input: Record<string, unknown>, bearer = admin) => graphql(gw.url, UPDATE, { input }, bearer);
    const verify = (token: string, bearer = admin, requiredRoles?: string[]) => graphql(gw.url, VERIFY, { token, requiredRoles }, bearer);
    const auditOf = async (id: string) => {
      const response = await graphql(gw.url, AUDIT_LOG, { filter: { resourceType: 'token', resourceId: id } }, admin);
      expect(response.errors).toBeUndefined();
      return response.data!.auditLog.edges.map((edge: any) => edge.node) as Array<{ eventType: string; changes: Record<string, unknown> }>;
    };

    beforeAll(async () => {
      gw = await start({});
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: tenant, roles: ['keyledger:admin'] }));
      ({ secret: otherAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: otherTenant, roles: ['keyledger:admin'] }));
      ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
    });
    afterAll(async () => gw.stop());

    describe('enabled', () => {
      it('a token is issued enabled; enabled: false pauses it (DISABLED) without revoking it, enabled: true restores it', async () => {
        const { id, secret } = await issueToken(gw.url, admin, { name: 'pausable', roles: ['orders:read'] });
        expect((await graphql(gw.url, TOKEN_CONTROLS, { id }, admin)).data!.token.enabled).toBe(true);

        const paused = await update({ id, enabled: false });
        expect(paused.errors).toBeUndefined();
        expect(paused.data!.updateToken).toMatchObject({ id, enabled: false, status: 'ACTIVE' });
        const refused = await verify(secret);
        expect(refused.data!.verifyToken).toEqual({
          valid: false,
          code: 'DISABLED',
          token: { id, name: 'pausable', roles: ['orders:read'], status: 'ACTIVE', enabled: false, meta: null, externalId: null },
        });
        expect((await graphql(gw.url, TOKEN_CONTROLS, { id }, admin)).data!.token).toMatchObject({ status: 'ACTIVE', enabled: false, revokedAt: null });

        const resumed = await update({ id, enabled: true });
        expect(resumed.data!.updateToken).toMatchObject({ id, enabled: true });
        expect((await verify(secret, admin, ['orders:read'])).data!.verifyToken).toMatchObject({ valid: true, code: 'VALID' });
      });

      it('each pause and resume is an event of its own, audited', async () => {
        const { id } = await issueToken(gw.url, admin, { name: 'audited pause' });
        await update({ id, enabled: false, name: 'audited pause, renamed' });
        await update({ id, enabled: true });
        const events = await gw.gateway.store.readStream(`token-${id}`);
        expect(events.map((event) => event.type)).toEqual(['TokenIssued', 'TokenUpdated', 'TokenDisabled', 'TokenEnabled']);
        expect(events[2].data).toEqual({ tokenId: id, tenantId: tenant, disabledAt: expect.any(String) });
        await eventually(async () => (await auditOf(id)).length === 4);
        const types = (await auditOf(id)).map((entry) => entry.eventType);
        expect(types).toEqual(['TokenEnabled', 'TokenDisabled', 'TokenUpdated', 'TokenIssued']);
      });

      it('pausing a paused token, or enabling an enabled one, records nothing', async () => {
        const { id } = await issueToken(gw.url, admin, { name: 'idle' });
        const before = await settledHeadPosition(gw.gateway);
        expect((await update({ id, enabled: true })).data!.updateToken.enabled).toBe(true);
        expect(await gw.gateway.store.headPosition()).toBe(before);
        await update({ id, enabled: false });
        const paused = await settledHeadPosition(gw.gateway);
        expect((await update({ id, enabled: false })).data!.updateToken.enabled).toBe(false);
        expect(await gw.gateway.store.headPosition()).toBe(paused);
      });

      it('a paused token is refused authentication like a revoked one, and served again once enabled', async () => {
        const { id, secret } = await issueToken(gw.url, admin, { name: 'paused caller', roles: ['keyledger:tokens:read'] });
        // Twice, so the second request is answered by whatever the first left behind.
        expect((await graphql(gw.url, VIEWER, {}, secret)).data!.viewer.id).toBe(id);
        expect((await graphql(gw.url, VIEWER, {}, secret)).data!.viewer.id).toBe(id);
        await update({ id, enabled: false });
        const refused = await graphql(gw.url, VIEWER, {}, secret);
        expect(errorCode(refused)).toBe('UNAUTHENTICATED');
        expect(refused.errors![0].message).toBe('The credential is disabled');
        expectNoStackTraces(refused);
        await update({ id, enabled: true });
        expect((await graphql(gw.url, VIEWER, {}, secret)).data!.viewer.id).toBe(id);
      });

      it('revocation and expiry speak before a pause; a revoked token can no longer be paused or resumed', async () => {
        const { id, secret } = await issueToken(gw.url, admin, { name: 'paused then revoked' });
        await update({ id, enabled: false });
        await graphql(gw.url, REVOKE, { input: { id } }, admin);
        expect((await verify(secret)).data!.verifyToken.code).toBe('REVOKED');
        const resumed = await update({ id, enabled: true });
        expect(errorCode(resumed)).toBe('CONFLICT');
      });

      describe('security', () => {
        it('pausing needs keyledger:tokens:write', async () => {
          const { id, secret } = await issueToken(gw.url, admin, { name: 'guarded pause' });
          expect(errorCode(await update({ id, enabled: false }, reader))).toBe('FORBIDDEN');
          expect(errorCode(await update({ id, enabled: false }, ''))).toBe('UNAUTHENTICATED');
          expect((await verify(secret)).data!.verifyToken.code).toBe('VALID');
        });

        it("another tenant's token is NOT_FOUND: it can neither be paused nor seen paused", async () => {
          const { id, secret } = await issueToken(gw.url, admin, { name: 'foreign pause' });
          const before = await settledHeadPosition(gw.gateway);
          expect(errorCode(await update({ id, enabled: false }, otherAdmin))).toBe('NOT_FOUND');
          expect(await gw.gateway.store.headPosition()).toBe(before);
          expect((await verify(secret)).data!.verifyToken.code).toBe('VALID');
          await update({ id, enabled: false });
          expect((await verify(secret, otherAdmin)).data!.verifyToken).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
        });

        it('a paused caller cannot resume itself', async () => {
          const { id, secret } = await issueToken(gw.url, admin, { name: 'self resume', roles: ['keyledger:tokens:write', 'keyledger:tokens:read'] });
          await update({ id, enabled: false });
          expect(errorCode(await update({ id, enabled: true }, secret))).toBe('UNAUTHENTICATED');
          expect((await verify(secret)).data!.verifyToken.code).toBe('DISABLED');
        });

        it('no secret is written by a pause', async () => {
          const { id, secret } = await issueToken(gw.url, admin, { name: 'scan pause' });
          await update({ id, enabled: false });
          await update({ id, enabled: true });
          expectNotWritten(await wholeLogText(gw), secret);
        });
      });
    });

    describe('meta and externalId', () => {
      const issue = (input: Record<string, unknown>, bearer = admin) => graphql(gw.url, ISSUE, { input }, bearer);
      const META = { plan: 'pro', seats: 12, owner: { email: 'ana@example.com' }, flags: ['beta'] };

      it('are kept on issue, returned on the token and by verifyToken, and recorded in TokenIssued', async () => {
        const issued = await issue({ name: 'customer key', roles: ['orders:read'], meta: META, externalId: 'org_42' });
        expect(issued.errors).toBeUndefined();
        const { secret, token } = issued.data!.issueToken;
        expect(token).toMatchObject({ meta: META, externalId: 'org_42', enabled: true });
        expect((await graphql(gw.url, TOKEN_CONTROLS, { id: token.id }, admin)).data!.token).toMatchObject({ meta: META, externalId: 'org_42' });
        expect((await verify(secret)).data!.verifyToken).toMatchObject({ valid: true, code: 'VALID', token: { id: token.id, meta: META, externalId: 'org_42' } });
        const [event] = await gw.gateway.store.readStream(`token-${token.id}`);
        expect(event.data).toMatchObject({ meta: META, externalId: 'org_42' });
      });

      it('updateToken replaces meta and externalId, null removes them, the same meta in another key order records nothing', async () => {
        const { token } = (await issue({ name: 'changing meta', meta: { a: 1, b: { c: 2, d: 3 } } })).data!.issueToken;
        const before = await settledHeadPosition(gw.gateway);
        expect((await update({ id: token.id, meta: { b: { d: 3, c: 2 }, a: 1 } })).errors).toBeUndefined();
        expect(await gw.gateway.store.headPosition()).toBe(before);

        const changed = await update({ id: token.id, meta: { tier: 'gold' }, externalId: 'user:7' });
        expect(changed.data!.updateToken).toMatchObject({ meta: { tier: 'gold' }, externalId: 'user:7' });
        const cleared = await update({ id: token.id, meta: null, externalId: null });
        expect(cleared.data!.updateToken).toMatchObject({ meta: null, externalId: null });
        const events = await gw.gateway.store.readStream(`token-${token.id}`);
        expect(events.slice(1).map((event) => (event.data as any).changes)).toEqual([
          { meta: { tier: 'gold' }, externalId: 'user:7' },
          { meta: null, externalId: null },
        ]);
      });

      it('the audit history shows externalId and only a fingerprint of meta', async () => {
        const { token } = (await issue({ name: 'audited meta', meta: { customer: 'Jane Roe' }, externalId: 'cust-audit' })).data!.issueToken;
        await update({ id: token.id, meta: { customer: 'John Roe' } });
        await eventually(async () => (await auditOf(token.id)).length === 2);
        const [updated, issuedEntry] = await auditOf(token.id);
        expect(issuedEntry.changes).toMatchObject({ externalId: 'cust-audit', meta: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) });
        expect(updated.changes).toMatchObject({ changes: { meta: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) } });
        expect((updated.changes as any).changes.meta).not.toBe(issuedEntry.changes.meta);
        expect(JSON.stringify([updated, issuedEntry])).not.toMatch(/Roe|customer/);
      });

      it('tokens(filter: {externalId}) lists the tokens of one customer', async () => {
        const customer = `cust-${Date.now()}`;
        const one = (await issue({ name: 'first of customer', externalId: customer })).data!.issueToken.token.id;
        const two = (await issue({ name: 'second of customer', externalId: customer })).data!.issueToken.token.id;
        await issue({ name: 'someone else', externalId: `${customer}-other` });
        const listed = await graphql(gw.url, TOKENS, { filter: { externalId: customer } }, admin);
        expect(listed.data!.tokens.totalCount).toBe(2);
        expect(listed.data!.tokens.edges.map((edge: any) => edge.node.id).sort()).toEqual([one, two].sort());
        const foreign = await graphql(gw.url, TOKENS, { filter: { externalId: customer } }, otherAdmin);
        expect(foreign.data!.tokens.totalCount).toBe(0);
      });

      it('bad input is refused with BAD_USER_INPUT and writes nothing', async () => {
        const { token } = (await issue({ name: 'bad input target' })).data!.issueToken;
        const before = await settledHeadPosition(gw.gateway);
        const tooLarge = { blob: 'x'.repeat(16 * 1024) };
        const credential = (await issueToken(gw.url, admin, { name: 'a credential' })).secret;
        const afterCredential = await settledHeadPosition(gw.gateway);
        expect(afterCredential).not.toBe(before);
        const cases: Array<[Record<string, unknown>, string]> = [
          [{ meta: tooLarge }, 'meta'],
          [{ meta: { nested: { note: `copy of ${credential} here` } } }, 'meta'],
          [{ meta: { [credential]: true } }, 'meta'],
          [{ externalId: 'x'.repeat(257) }, 'externalId'],
          [{ externalId: 'has space' }, 'externalId'],
          [{ externalId: '' }, 'externalId'],
        ];
        for (const [fields, field] of cases) {
          for (const response of [await issue({ name: 'refused', ...fields }), await update({ id: token.id, ...fields })]) {
            expect(errorCode(response)).toBe('BAD_USER_INPUT');
            expect(response.errors![0].extensions).toMatchObject({ field });
            expectNoStackTraces(response);
            expect(response.raw).not.toContain(credential);
          }
        }
        for (const meta of [[1, 2], 'text', 7]) {
          for (const response of [await issue({ name: 'not an object', meta }), await update({ id: token.id, meta })]) {
            expect(errorCode(response)).toBe('BAD_USER_INPUT');
            expectNoStackTraces(response);
          }
        }
        expect(await gw.gateway.store.headPosition()).toBe(afterCredential);
        expect((await issue({ name: 'just fits', meta: { blob: 'x'.repeat(16 * 1024 - 20) } })).errors).toBeUndefined();
      });

      describe('security', () => {
        it('meta never grants anything: roles, tenant and state come from the token alone', async () => {
          const { secret, token } = (
            await issue({
              name: 'meta escalation',
              roles: ['orders:read'],
              meta: { roles: ['orders:write', 'keyledger:admin'], tenantId: otherTenant, enabled: true, kind: 'INTEGRATION_KEY', requiredRoles: [] },
            })
          ).data!.issueToken;
          expect((await verify(secret, admin, ['orders:write'])).data!.verifyToken).toMatchObject({ valid: false, code: 'INSUFFICIENT_ROLES' });
          expect((await verify(secret, admin, ['keyledger:admin'])).data!.verifyToken.code).toBe('INSUFFICIENT_ROLES');
          expect((await verify(secret, otherAdmin)).data!.verifyToken).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
          await update({ id: token.id, enabled: false });
          expect((await verify(secret)).data!.verifyToken.code).toBe('DISABLED');
        });

        it('a caller without keyledger:tokens:write can set neither; another tenant can neither change nor read them', async () => {
          const { secret, token } = (await issue({ name: 'guarded meta', meta: { plan: 'pro' }, externalId: 'guarded' })).data!.issueToken;
          expect(errorCode(await update({ id: token.id, meta: { plan: 'free' } }, reader))).toBe('FORBIDDEN');
          expect(errorCode(await issue({ name: 'reader issue', meta: { a: 1 } }, reader))).toBe('FORBIDDEN');
          expect(errorCode(await update({ id: token.id, meta: { plan: 'free' }, externalId: 'stolen' }, otherAdmin))).toBe('NOT_FOUND');
          expect((await graphql(gw.url, TOKEN_CONTROLS, { id: token.id }, otherAdmin)).data!.token).toBeNull();
          expect((await verify(secret, otherAdmin)).data!.verifyToken.token).toBeNull();
          expect((await graphql(gw.url, TOKEN_CONTROLS, { id: token.id }, admin)).data!.token).toMatchObject({ meta: { plan: 'pro' }, externalId: 'guarded' });
        });

        it('no secret reaches the log through meta or externalId', async () => {
          const { secret, token } = (await issue({ name: 'scan meta', meta: { note: 'plain' }, externalId: 'scan-me' })).data!.issueToken;
          await update({ id: token.id, meta: { note: 'changed' } });
          expectNotWritten(await wholeLogText(gw), secret);
        });
      });
    });

    describe('verifyToken anyOf: alternatives besides requiredRoles', () => {
      const check = async (token: string, anyOf: unknown, requiredRoles?: string[], bearer = admin) =>
        graphql(gw.url, VERIFY_ANY_OF, { token, anyOf, requiredRoles }, bearer);
      const codeOf = async (token: string, anyOf: unknown, requiredRoles?: string[]) => (await check(token, anyOf, requiredRoles)).data!.verifyToken.code;
      const ADMIN_OR_READ_WRITE = [['orders:admin'], ['orders:read', 'orders:write']];

      it('"admin, or both read and write": one group held whole is enough, a group held in part is not', async () => {
        const adminToken = (await issueToken(gw.url, admin, { name: 'orders admin', roles: ['orders:admin'] })).secret;
        const both = (await issueToken(gw.url, admin, { name: 'read and write', roles: ['orders:read', 'orders:write'] })).secret;
        const readOnly = (await issueToken(gw.url, admin, { name: 'read only', roles: ['orders:read'] })).secret;
        expect(await codeOf(adminToken, ADMIN_OR_READ_WRITE)).toBe('VALID');
        expect(await codeOf(both, ADMIN_OR_READ_WRITE)).toBe('VALID');
        expect(await codeOf(readOnly, ADMIN_OR_READ_WRITE)).toBe('INSUFFICIENT_ROLES');
        expect((await check(readOnly, ADMIN_OR_READ_WRITE)).data!.verifyToken.token).not.toBeNull();
      });

      it('requiredRoles keeps meaning "all of", and must hold as well as one group', async () => {
        const token = (await issueToken(gw.url, admin, { name: 'tenant bound', roles: ['orders:admin', 'region:eu'] })).secret;
        expect(await codeOf(token, ADMIN_OR_READ_WRITE, ['region:eu'])).toBe('VALID');
        expect(await codeOf(token, ADMIN_OR_READ_WRITE, ['region:us'])).toBe('INSUFFICIENT_ROLES');
        expect(await codeOf(token, null, ['region:eu', 'orders:admin'])).toBe('VALID');
        expect(await codeOf(token, null, ['region:eu', 'orders:read'])).toBe('INSUFFICIENT_ROLES');
      });

      it('roles a keyledger role implies count, as they do for requiredRoles', async () => {
        const writer = (await issueToken(gw.url, admin, { name: 'implied', roles: ['keyledger:tokens:write'] })).secret;
        expect(await codeOf(writer, [['keyledger:admin'], ['keyledger:tokens:read']])).toBe('VALID');
      });

      it('a paused or foreign token answers as without anyOf', async () => {
        const { id, secret } = await issueToken(gw.url, admin, { name: 'paused any', roles: ['orders:admin'] });
        await update({ id, enabled: false });
        expect(await codeOf(secret, ADMIN_OR_READ_WRITE)).toBe('DISABLED');
        expect((await check(secret, ADMIN_OR_READ_WRITE, undefined, otherAdmin)).data!.verifyToken).toEqual({ valid: false, code: 'NOT_FOUND', token: null });
      });

      it('an empty list, an empty group or too many groups is BAD_USER_INPUT; a caller without keyledger:tokens:read is FORBIDDEN', async () => {
        const token = (await issueToken(gw.url, admin, { name: 'bad any', roles: ['a'] })).secret;
        const noRole = (await issueToken(gw.url, admin, { name: 'no role', roles: ['a'] })).secret;
        for (const anyOf of [[], [[]], [['a'], []], Array.from({ length: 17 }, (_, i) => [`r${i}`])]) {
          const response = await check(token, anyOf);
          expect(errorCode(response)).toBe('BAD_USER_INPUT');
          expect(response.errors![0].extensions).toMatchObject({ field: 'anyOf' });
          expectNoStackTraces(response);
        }
        expect(errorCode(await check(token, [['a']], undefined, noRole))).toBe('FORBIDDEN');
      });
    });
  });
}
