import type { Clock } from '../../../src/app/clock';
import { errorCode, graphql } from '../../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import { expectNoStackTraces, expectNotWritten, REVOKE, uniqueTenant, wholeLogText } from './token-operations';

const CONTROL_FIELDS = 'id name roles status enabled';
const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { ${CONTROL_FIELDS} } }`;
const VERIFY = `query Verify($token: String!, $requiredRoles: [String!]) {
  verifyToken(token: $token, requiredRoles: $requiredRoles) { valid code token { ${CONTROL_FIELDS} } }
}`;
const TOKEN_CONTROLS = `query Token($id: ID!) { token(id: $id) { ${CONTROL_FIELDS} revokedAt } }`;
const VIEWER = '{ viewer { id } }';
const AUDIT_LOG = `query Audit($filter: AuditLogFilter) { auditLog(first: 100, filter: $filter) { edges { node { eventType resource { id } changes } } } }`;

/** The usage controls of a token at verification: pausing it. */
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
        expect(refused.data!.verifyToken).toEqual({ valid: false, code: 'DISABLED', token: { id, name: 'pausable', roles: ['orders:read'], status: 'ACTIVE', enabled: false } });
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
  });
}
