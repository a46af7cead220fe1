import Database from 'better-sqlite3';
import { join } from 'node:path';
import { graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';

/** Real OS processes of the compiled gateway, sharing or reusing a data directory. */
describe('gateway processes', () => {
  const fleet = new GatewayFleet();
  afterEach(() => fleet.stop());

  it('keeps a change acknowledged just before SIGKILL', async () => {
    const dataDir = fleet.tempDir();
    const first = await fleet.start(dataDir);
    const { secret, id } = await issueToken(first.url, ROOT_SECRET, { name: 'durable', tenantId: 'acme' });
    const revoked = await issueToken(first.url, ROOT_SECRET, { name: 'revoked before kill', tenantId: 'acme' });
    await graphql(first.url, REVOKE_TOKEN, { input: { id: revoked.id } }, ROOT_SECRET);
    expect(await first.kill('SIGKILL')).toBe('SIGKILL');

    const second = await fleet.start(dataDir);
    const verification = await graphql(second.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET);
    expect(verification.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID', token: { id } });
    const stillRevoked = await graphql(second.url, VERIFY_TOKEN, { token: revoked.secret }, ROOT_SECRET);
    expect(stillRevoked.data!.verifyToken.code).toBe('REVOKED');
  });

  it('two processes on one data directory: a revocation through one is seen by the other (its latency is measured by `npm run bench -- revocation-fanout`)', async () => {
    const dataDir = fleet.tempDir();
    const [one, two] = await Promise.all([fleet.start(dataDir), fleet.start(dataDir)]);
    const { secret, id } = await issueToken(one.url, ROOT_SECRET, { name: 'shared', tenantId: 'acme' });
    await eventually(async () => (await graphql(two.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET)).data!.verifyToken.code === 'VALID');

    const response = await graphql(one.url, REVOKE_TOKEN, { input: { id } }, ROOT_SECRET);
    expect(response.data!.revokeToken.status).toBe('REVOKED');
    await eventually(async () => (await graphql(two.url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET)).data!.verifyToken.code === 'REVOKED');
  });

  it('two processes bootstrapping one fresh data directory at once create exactly one root token', async () => {
    const dataDir = fleet.tempDir();
    const [one, two] = await Promise.all([fleet.start(dataDir), fleet.start(dataDir)]);
    for (const gateway of [one, two]) {
      const viewer = await graphql(gateway.url, '{ viewer { id roles } }', {}, ROOT_SECRET);
      expect(viewer.data!.viewer).toEqual({ id: 'tok_bootstrap', roles: ['keyledger:root'] });
    }
    await Promise.all([one.kill('SIGTERM'), two.kill('SIGTERM')]);
    const third = await fleet.start(dataDir);
    expect((await graphql(third.url, '{ viewer { id } }', {}, ROOT_SECRET)).data!.viewer.id).toBe('tok_bootstrap');

    const db = new Database(join(dataDir, 'events.db'), { readonly: true });
    const issued = db.prepare("SELECT count(*) AS n FROM events WHERE type = 'TokenIssued'").get() as { n: number };
    db.close();
    expect(issued.n).toBe(1);
  });

  it('drains and exits cleanly on SIGTERM', async () => {
    const gateway = await fleet.start(fleet.tempDir());
    const inFlight = Promise.all(
      Array.from({ length: 5 }, (_, i) => issueToken(gateway.url, ROOT_SECRET, { name: `drain ${i}`, tenantId: 'acme' })),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    const exit = gateway.kill('SIGTERM');
    const results = await Promise.allSettled([inFlight]);
    expect(await exit).toBe(0);
    expect(gateway.output()).toContain('keyledger stopped');
    // Requests accepted before the signal complete; any sent after it are refused, never half-done.
    for (const result of results) {
      if (result.status === 'rejected') expect(String(result.reason)).toMatch(/fetch failed|ECONNREFUSED|socket/);
    }
  });
});
