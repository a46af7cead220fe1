import { errorCode, graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, type TestGateway } from '../../helpers/gateway';
import type { Clock } from '../../../src/app/clock';
import { SecretHasher } from '../../../src/crypto/secret-hash';

/** A tenant unique per run, so the suite also runs against a shared, long-lived event store. */
const TENANT = `acme-${Math.random().toString(36).slice(2, 8)}`;

/** Runs against any gateway factory, so every event store adapter passes the same end-to-end suite. */
export function describeTokenLifecycle(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`token lifecycle over GraphQL (${adapter})`, () => {
    let gw: TestGateway;
    let admin: string;

    beforeAll(async () => {
      gw = await start({});
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'acme admin', tenantId: TENANT, roles: ['keyledger:admin'] }));
    });
    afterAll(async () => gw.stop());

    it('issues, verifies VALID, revokes, then verifies REVOKED', async () => {
      const issued = await issueToken(gw.url, admin, { name: 'billing bot', roles: ['billing:read'] });
      expect(issued.secret).toMatch(/^klt_[0-9A-Za-z]{36}$/);
      expect(issued.token).toMatchObject({ tenantId: TENANT, kind: 'API_TOKEN', name: 'billing bot', status: 'ACTIVE', roles: ['billing:read'] });
      expect(issued.token.display).toBe(issued.secret.slice(0, 8));

      const valid = await graphql(gw.url, VERIFY_TOKEN, { token: issued.secret }, admin);
      expect(valid.data!.verifyToken).toEqual({ valid: true, code: 'VALID', token: { id: issued.id, status: 'ACTIVE', roles: ['billing:read'] } });

      const revoked = await graphql(gw.url, REVOKE_TOKEN, { input: { id: issued.id, reason: 'rotated out' } }, admin);
      expect(revoked.errors).toBeUndefined();
      expect(revoked.data!.revokeToken).toMatchObject({ id: issued.id, status: 'REVOKED' });

      const after = await graphql(gw.url, VERIFY_TOKEN, { token: issued.secret }, admin);
      expect(after.data!.verifyToken).toMatchObject({ valid: false, code: 'REVOKED' });
    });

    it('rejects a bad checksum as MALFORMED', async () => {
      const { secret } = await issueToken(gw.url, admin, { name: 'checksum' });
      const last = secret[secret.length - 1];
      const tampered = secret.slice(0, -1) + (last === 'A' ? 'B' : 'A');
      // Any storage lookup of a presented secret goes through its HMAC or its tag first.
      const lookupHash = jest.spyOn(SecretHasher.prototype, 'lookupHash');
      const lookupTag = jest.spyOn(SecretHasher.prototype, 'lookupTag');
      try {
        const response = await graphql(gw.url, VERIFY_TOKEN, { token: tampered }, admin);
        expect(response.data!.verifyToken).toEqual({ valid: false, code: 'MALFORMED', token: null });
        expect(lookupHash.mock.calls.filter(([value]) => value === tampered)).toEqual([]);
        expect(lookupTag.mock.calls.filter(([value]) => value === tampered)).toEqual([]);

        // Positive controls: the same spies see the lookups of secrets that do reach storage.
        const intact = await graphql(gw.url, VERIFY_TOKEN, { token: secret }, admin);
        expect(intact.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID' });
        expect(lookupHash).toHaveBeenCalledWith(secret);
        const chosen = 'checksum-control-chosen-secret-0123456789';
        expect((await graphql(gw.url, VERIFY_TOKEN, { token: chosen }, admin)).data!.verifyToken.code).toBe('NOT_FOUND');
        expect(lookupTag).toHaveBeenCalledWith(chosen);
      } finally {
        lookupHash.mockRestore();
        lookupTag.mockRestore();
      }
    });

    it('requires authentication', async () => {
      const response = await graphql(gw.url, '{ viewer { id } }');
      expect(errorCode(response)).toBe('UNAUTHENTICATED');
    });
  });
}
