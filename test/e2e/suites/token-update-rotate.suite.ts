import type { Clock } from '../../../src/app/clock';
import { errorCode, graphql } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, type TestGateway } from '../../helpers/gateway';
import { TestClock } from '../../helpers/test-clock';
import { expectNoStackTraces, expectNotWritten, REVOKE, ROTATE, streamText, TOKEN, UPDATE, uniqueTenant, VERIFY } from './token-operations';

/** updateToken and rotateToken: happy paths, each documented error, and security. */
export function describeTokenUpdateAndRotation(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`updateToken and rotateToken over GraphQL (${adapter})`, () => {
    let gw: TestGateway;
    const clock = new TestClock();
    const tenant = uniqueTenant('change');
    const otherTenant = uniqueTenant('change-other');
    let admin: string;
    let writer: string;
    let reader: string;
    let otherAdmin: string;

    const update = (input: Record<string, unknown>, bearer = admin) => graphql(gw.url, UPDATE, { input }, bearer);
    const rotate = (input: Record<string, unknown>, bearer = admin) => graphql(gw.url, ROTATE, { input }, bearer);
    const verifyCode = async (token: string) => (await graphql(gw.url, VERIFY, { token }, admin)).data!.verifyToken.code;

    beforeAll(async () => {
      gw = await start({ clock });
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: tenant, roles: ['keyledger:admin'] }));
      ({ secret: otherAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: otherTenant, roles: ['keyledger:admin'] }));
      ({ secret: writer } = await issueToken(gw.url, admin, { name: 'writer', roles: ['keyledger:tokens:write'] }));
      ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
    });
    afterAll(async () => gw.stop());

    describe('updateToken', () => {
      it('changes name, roles, bot identity and expiry, and appends one TokenUpdated with only the changed fields', async () => {
        const { id } = await issueToken(gw.url, admin, { name: 'bot', code: 'upd-bot', roles: ['a'], botName: 'Bot' });
        const expiresAt = new Date(clock.now().getTime() + 86_400_000).toISOString();
        const response = await update({ id, name: 'renamed bot', roles: ['a', 'b'], botName: 'Bot', avatarUrl: 'https://cdn.example.com/b.png', expiresAt });
        expect(response.errors).toBeUndefined();
        expect(response.data!.updateToken).toMatchObject({
          id,
          name: 'renamed bot',
          roles: ['a', 'b'],
          botName: 'Bot',
          avatarUrl: 'https://cdn.example.com/b.png',
          expiresAt,
          code: 'upd-bot',
        });
        const events = await gw.gateway.store.readStream(`token-${id}`);
        expect(events.map((event) => event.type)).toEqual(['TokenIssued', 'TokenUpdated']);
        expect(Object.keys((events[1].data as any).changes).sort()).toEqual(['avatarUrl', 'expiresAt', 'name', 'roles']);
      });

      it('a no-op update appends nothing', async () => {
        const { id } = await issueToken(gw.url, admin, { name: 'same', roles: ['a'] });
        const before = await settledHeadPosition(gw.gateway);
        const response = await update({ id, name: 'same', roles: ['a'] });
        expect(response.data!.updateToken).toMatchObject({ id, name: 'same' });
        expect(await gw.gateway.store.headPosition()).toBe(before);
      });

      it('null clears the bot identity and the expiry', async () => {
        const expiresAt = new Date(clock.now().getTime() + 3600_000).toISOString();
        const { id } = await issueToken(gw.url, admin, { name: 'clear', botName: 'B', avatarUrl: 'https://a.example/x.png', expiresAt });
        const response = await update({ id, botName: null, avatarUrl: null, expiresAt: null });
        expect(response.data!.updateToken).toMatchObject({ botName: null, avatarUrl: null, expiresAt: null });
      });

      it('new roles take effect for verification at once', async () => {
        const { id, secret } = await issueToken(gw.url, admin, { name: 'roles', roles: ['orders:read'] });
        await update({ id, roles: ['orders:write'] });
        const checked = await graphql(gw.url, VERIFY, { token: secret, requiredRoles: ['orders:read'] }, admin);
        expect(checked.data!.verifyToken.code).toBe('INSUFFICIENT_ROLES');
      });

      it('each documented error', async () => {
        const { id } = await issueToken(gw.url, admin, { name: 'target' });
        const webhook = await issueToken(gw.url, admin, { name: 'hook', kind: 'WEBHOOK_TOKEN', ownerId: 'ana' });
        expect(errorCode(await update({ id: 'tok_0000000000000000000000', name: 'x' }))).toBe('NOT_FOUND');
        expect(errorCode(await update({ id, name: '' }))).toBe('BAD_USER_INPUT');
        expect(errorCode(await update({ id, avatarUrl: 'http://x.example/a.png' }))).toBe('BAD_USER_INPUT');
        expect(errorCode(await update({ id, expiresAt: new Date(clock.now().getTime() - 1000).toISOString() }))).toBe('BAD_USER_INPUT');
        expect(errorCode(await update({ id, roles: ['keyledger:nope'] }))).toBe('BAD_USER_INPUT');
        expect(errorCode(await update({ id: webhook.id, botName: 'x' }))).toBe('BAD_USER_INPUT');
        await graphql(gw.url, REVOKE, { input: { id } }, admin);
        const revoked = await update({ id, name: 'too late' });
        expect(errorCode(revoked)).toBe('CONFLICT');
        expect(revoked.errors![0].message).toMatch(/revoked/);
      });

      it('an expired token cannot be revived by moving its expiry', async () => {
        const expiresAt = new Date(clock.now().getTime() + 1000).toISOString();
        const { id } = await issueToken(gw.url, admin, { name: 'expiring', expiresAt });
        clock.advance(1000);
        const response = await update({ id, expiresAt: new Date(clock.now().getTime() + 86_400_000).toISOString() });
        expect(errorCode(response)).toBe('CONFLICT');
        expect(response.errors![0].message).toMatch(/expired/);
      });

      describe('security', () => {
        it('needs a bearer and keyledger:tokens:write', async () => {
          const { id } = await issueToken(gw.url, admin, { name: 'guarded' });
          const anonymous = await update({ id, name: 'x' }, '');
          expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
          expectNoStackTraces(anonymous);
          expect(errorCode(await update({ id, name: 'x' }, reader))).toBe('FORBIDDEN');
        });

        it("another tenant's token is NOT_FOUND and stays unchanged", async () => {
          const { id } = await issueToken(gw.url, admin, { name: 'mine' });
          expect(errorCode(await update({ id, name: 'stolen' }, otherAdmin))).toBe('NOT_FOUND');
          expect((await graphql(gw.url, TOKEN, { id }, admin)).data!.token.name).toBe('mine');
        });

        it('no escalation: a writer can neither grant nor withdraw keyledger roles it lacks', async () => {
          const { id } = await issueToken(gw.url, admin, { name: 'plain', roles: ['a'] });
          const grant = await update({ id, roles: ['a', 'keyledger:admin'] }, writer);
          expect(errorCode(grant)).toBe('FORBIDDEN');
          expect(grant.errors![0].message).toContain('keyledger:admin');
          const audited = await issueToken(gw.url, admin, { name: 'audited', roles: ['keyledger:audit:read'] });
          expect(errorCode(await update({ id: audited.id, roles: [] }, writer))).toBe('FORBIDDEN');
          expect((await update({ id, roles: ['keyledger:tokens:read'] }, writer)).errors).toBeUndefined();
        });
      });
    });

    describe('rotateToken', () => {
      it('returns a new secret once; the old one verifies until the grace period ends, exactly, then REVOKED', async () => {
        const { id, secret: oldSecret } = await issueToken(gw.url, admin, { name: 'rotating', roles: ['keyledger:tokens:read'] });
        const response = await rotate({ id, gracePeriodSeconds: 90 });
        expect(response.errors).toBeUndefined();
        const { secret: newSecret, token } = response.data!.rotateToken;
        expect(newSecret).toMatch(/^klt_/);
        expect(newSecret).not.toBe(oldSecret);
        expect(token).toMatchObject({ id, status: 'ACTIVE', display: newSecret.slice(0, 8), rotatedAt: clock.now().toISOString() });
        expect(await verifyCode(oldSecret)).toBe('VALID');
        expect(await verifyCode(newSecret)).toBe('VALID');
        clock.advance(89_999);
        expect(await verifyCode(oldSecret)).toBe('VALID');
        expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, oldSecret))).toBeUndefined();
        clock.advance(1);
        expect(await verifyCode(oldSecret)).toBe('REVOKED');
        expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, oldSecret))).toBe('UNAUTHENTICATED');
        expect(await verifyCode(newSecret)).toBe('VALID');
      });

      it('a grace period of 0 ends the old secret at once', async () => {
        const { id, secret: oldSecret } = await issueToken(gw.url, admin, { name: 'leaked' });
        const { secret: newSecret } = (await rotate({ id, gracePeriodSeconds: 0 })).data!.rotateToken;
        expect(await verifyCode(oldSecret)).toBe('REVOKED');
        expect(await verifyCode(newSecret)).toBe('VALID');
      });

      it('a second rotation cuts every earlier secret to its own grace period', async () => {
        const { id, secret: first } = await issueToken(gw.url, admin, { name: 'twice' });
        const { secret: second } = (await rotate({ id, gracePeriodSeconds: 3600 })).data!.rotateToken;
        const { secret: third } = (await rotate({ id, gracePeriodSeconds: 0 })).data!.rotateToken;
        expect(await verifyCode(first)).toBe('REVOKED');
        expect(await verifyCode(second)).toBe('REVOKED');
        expect(await verifyCode(third)).toBe('VALID');
      });

      it('revoking during the grace period revokes every secret', async () => {
        const { id, secret: oldSecret } = await issueToken(gw.url, admin, { name: 'revoked in grace' });
        const { secret: newSecret } = (await rotate({ id, gracePeriodSeconds: 3600 })).data!.rotateToken;
        await graphql(gw.url, REVOKE, { input: { id } }, admin);
        expect(await verifyCode(oldSecret)).toBe('REVOKED');
        expect(await verifyCode(newSecret)).toBe('REVOKED');
      });

      it('rotates an imported token to a generated secret; the imported one keeps its grace period', async () => {
        const imported = 'imported-secret-for-rotation-0123456789';
        const response = await graphql(
          gw.url,
          `mutation($input: ImportTokenInput!) { importToken(input: $input) { id } }`,
          { input: { name: 'imported', secret: imported } },
          admin,
        );
        const id = response.data!.importToken.id;
        const { secret } = (await rotate({ id, gracePeriodSeconds: 30 })).data!.rotateToken;
        expect(secret).toMatch(/^klt_/);
        expect(await verifyCode(imported)).toBe('VALID');
        clock.advance(30_000);
        expect(await verifyCode(imported)).toBe('REVOKED');
        expect(await verifyCode(secret)).toBe('VALID');
      });

      it('each documented error: bounds of the grace period, missing, revoked, expired', async () => {
        const { id } = await issueToken(gw.url, admin, { name: 'bounded' });
        for (const gracePeriodSeconds of [-1, 2_592_001]) {
          const response = await rotate({ id, gracePeriodSeconds });
          expect(errorCode(response)).toBe('BAD_USER_INPUT');
          expect(response.errors![0].message).toMatch(/gracePeriodSeconds must be a whole number from 0 to 2592000 \(30 days\)/);
          expect(response.errors![0].extensions!.field).toBe('gracePeriodSeconds');
        }
        expect((await rotate({ id, gracePeriodSeconds: 2_592_000 })).errors).toBeUndefined();
        expect(errorCode(await rotate({ id: 'tok_0000000000000000000000', gracePeriodSeconds: 0 }))).toBe('NOT_FOUND');
        await graphql(gw.url, REVOKE, { input: { id } }, admin);
        expect(errorCode(await rotate({ id, gracePeriodSeconds: 0 }))).toBe('CONFLICT');
        const expiring = await issueToken(gw.url, admin, { name: 'expiring', expiresAt: new Date(clock.now().getTime() + 1000).toISOString() });
        clock.advance(1000);
        expect(errorCode(await rotate({ id: expiring.id, gracePeriodSeconds: 0 }))).toBe('CONFLICT');
      });

      describe('security', () => {
        it('needs a bearer and keyledger:tokens:write; another tenant gets NOT_FOUND', async () => {
          const { id, secret } = await issueToken(gw.url, admin, { name: 'guarded' });
          expect(errorCode(await rotate({ id, gracePeriodSeconds: 0 }, ''))).toBe('UNAUTHENTICATED');
          expect(errorCode(await rotate({ id, gracePeriodSeconds: 0 }, reader))).toBe('FORBIDDEN');
          expect(errorCode(await rotate({ id, gracePeriodSeconds: 0 }, otherAdmin))).toBe('NOT_FOUND');
          expect(await verifyCode(secret)).toBe('VALID');
        });

        it('a writer cannot rotate a token holding roles it lacks', async () => {
          const { id } = await issueToken(gw.url, admin, { name: 'admin 2', roles: ['keyledger:admin'] });
          expect(errorCode(await rotate({ id, gracePeriodSeconds: 0 }, writer))).toBe('FORBIDDEN');
        });

        it('the new secret is in no event and no log line; reading the token does not show it', async () => {
          const { id } = await issueToken(gw.url, admin, { name: 'quiet' });
          const { secret } = (await rotate({ id, gracePeriodSeconds: 0 })).data!.rotateToken;
          expectNotWritten(await streamText(gw, `token-${id}`), secret);
          expect((await graphql(gw.url, TOKEN, { id }, admin)).raw).not.toContain(secret);
          expect(gw.logs()).not.toContain(secret);
        });
      });
    });
  });
}
