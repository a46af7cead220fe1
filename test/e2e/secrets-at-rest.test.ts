import { findSecrets } from '../helpers/byte-scan';
import { graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { spawnGateway } from '../helpers/gateway-process';
import { makeTempDir } from '../helpers/temp-dir';

describe('secrets at rest and in logs', () => {
  it('no issued or presented secret reaches the data directory or the log output', async () => {
    const temp = makeTempDir();
    const gateway = await spawnGateway(temp.path, { LOG_LEVEL: 'trace' });
    try {
      const admin = await issueToken(gateway.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
      const kept = await issueToken(gateway.url, admin.secret, { name: 'kept', roles: ['svc:read'] });
      const revoked = await issueToken(gateway.url, admin.secret, { name: 'revoked' });
      const expiring = await issueToken(gateway.url, admin.secret, { name: 'expiring', expiresAt: new Date(Date.now() + 3600_000).toISOString() });
      expect((await graphql(gateway.url, VERIFY_TOKEN, { token: kept.secret }, admin.secret)).data!.verifyToken.code).toBe('VALID');
      // Usage controls write spends of credits to the log, and count verifications: none may carry the secret.
      const metered = await issueToken(gateway.url, admin.secret, {
        name: 'metered',
        credits: { remaining: 2, refill: { amount: 2, interval: 'DAILY' } },
        rateLimits: [{ name: 'per-hour', limit: 2, durationSeconds: 3600 }],
      });
      for (let i = 0; i < 3; i++) await graphql(gateway.url, VERIFY_TOKEN, { token: metered.secret }, admin.secret);
      await graphql(gateway.url, REVOKE_TOKEN, { input: { id: revoked.id, reason: 'leak drill' } }, admin.secret);
      expect((await graphql(gateway.url, VERIFY_TOKEN, { token: revoked.secret }, admin.secret)).data!.verifyToken.code).toBe('REVOKED');
      // Usage controls: a paused token presented and verified, meta and externalId set, a meta that tries to carry a secret.
      const paused = await issueToken(gateway.url, admin.secret, { name: 'paused', meta: { plan: 'pro' }, externalId: 'org-9' });
      const update = 'mutation U($input: UpdateTokenInput!) { updateToken(input: $input) { id } }';
      await graphql(gateway.url, update, { input: { id: paused.id, enabled: false, meta: { plan: 'free' } } }, admin.secret);
      expect((await graphql(gateway.url, VERIFY_TOKEN, { token: paused.secret }, admin.secret)).data!.verifyToken.code).toBe('DISABLED');
      await graphql(gateway.url, '{ viewer { id } }', {}, paused.secret);
      const refusedMeta = await graphql(gateway.url, update, { input: { id: kept.id, meta: { note: `key ${kept.secret}` } } }, admin.secret);
      expect(refusedMeta.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      // Secrets sent where they do not belong: as a bearer that fails, as a wrong-typed value, in a query string.
      await graphql(gateway.url, '{ viewer { id } }', {}, revoked.secret);
      await graphql(gateway.url, VERIFY_TOKEN, { token: { nested: expiring.secret } }, admin.secret);
      await fetch(`${gateway.url}/graphql?query=${encodeURIComponent(`{ verifyToken(token: "${expiring.secret}") { code } }`)}`, {
        headers: { authorization: `Bearer ${admin.secret}`, 'apollo-require-preflight': 'true' },
      });

      const secrets = [ROOT_SECRET, admin.secret, kept.secret, revoked.secret, expiring.secret, paused.secret, metered.secret];
      expect(findSecrets(temp.path, secrets)).toEqual([]);
      expect(await gateway.kill('SIGTERM')).toBe(0);
      // After shutdown the WAL has been checkpointed into the main files: look again.
      expect(findSecrets(temp.path, secrets)).toEqual([]);
      const logs = gateway.output();
      expect(logs).toContain('"path":"/graphql"');
      for (const secret of secrets) expect(logs).not.toContain(secret);
    } finally {
      await gateway.kill('SIGKILL');
      temp.remove();
    }
  });
});
