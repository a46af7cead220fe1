import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET, startTestGateway } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';
import { errorCode, graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { TestClock } from '../helpers/test-clock';

const MASTER_KEY = Buffer.alloc(32, 11).toString('base64');
/** Each test spawns two gateway processes; on a loaded two-core machine that alone takes a while. */
const PROCESS_TEST_TIMEOUT_MS = 90_000;
const VIEWER = '{ viewer { id tenantId roles } }';
const UPDATE_ROLES = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id roles } }`;
const ROTATE = `mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { secret } }`;

/** What a request authenticated with `bearer` sees of itself, or the code it is refused with. */
async function whoAmI(url: string, bearer: string): Promise<{ roles: string[] } | string> {
  const response = await graphql(url, VIEWER, {}, bearer);
  if (response.errors) return errorCode(response) ?? 'NO_CODE';
  return { roles: response.data!.viewer.roles };
}

async function verifyCode(url: string, token: string): Promise<string> {
  return (await graphql(url, VERIFY_TOKEN, { token }, ROOT_SECRET)).data!.verifyToken.code;
}

async function mutate(url: string, query: string, input: Record<string, unknown>): Promise<Record<string, any>> {
  const response = await graphql(url, query, { input }, ROOT_SECRET);
  expect(response.errors).toBeUndefined();
  return response.data!;
}

/**
 * A caller that has just been served by a process (so that process holds its principal) and
 * is then revoked, rotated, paused or given other roles through another process is refused, or seen
 * with its new roles, on its next request to the first: a process never answers from what it
 * knew of a caller before the change.
 */
describe('a caller changed through one process, on its next request to another', () => {
  const fleet = new GatewayFleet('keyledger-caller-changes');
  let double: EsdbDouble | null = null;

  afterEach(async () => {
    await fleet.stop();
    await double?.close();
    double = null;
  });

  it(
    'two processes on one SQLite data directory: no wait at all between the change and the next request',
    async () => {
      const dataDir = fleet.tempDir();
      const one = await fleet.start(dataDir, { KEYLEDGER_MASTER_KEY: MASTER_KEY });
      const two = await fleet.start(dataDir, { KEYLEDGER_MASTER_KEY: MASTER_KEY });

      const revoked = await issueToken(one.url, ROOT_SECRET, { name: 'revoked caller', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const rotated = await issueToken(one.url, ROOT_SECRET, { name: 'rotated caller', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const changed = await issueToken(one.url, ROOT_SECRET, { name: 'changed caller', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const paused = await issueToken(one.url, ROOT_SECRET, { name: 'paused caller', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      for (const caller of [revoked, rotated, changed, paused]) {
        // Twice: the second is answered by whatever the first left behind.
        expect(await whoAmI(two.url, caller.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
        expect(await whoAmI(two.url, caller.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
      }

      await mutate(one.url, REVOKE_TOKEN, { id: revoked.id, reason: 'caller changes' });
      expect(await whoAmI(two.url, revoked.secret)).toBe('UNAUTHENTICATED');

      await mutate(one.url, ROTATE, { id: rotated.id, gracePeriodSeconds: 0 });
      expect(await whoAmI(two.url, rotated.secret)).toBe('UNAUTHENTICATED');

      await mutate(one.url, UPDATE_ROLES, { id: changed.id, roles: ['keyledger:tokens:read', 'keyledger:tokens:write'] });
      expect(await whoAmI(two.url, changed.secret)).toEqual({ roles: ['keyledger:tokens:read', 'keyledger:tokens:write'] });

      await mutate(one.url, UPDATE_ROLES, { id: paused.id, enabled: false });
      expect(await whoAmI(two.url, paused.secret)).toBe('UNAUTHENTICATED');
      expect(await verifyCode(two.url, paused.secret)).toBe('DISABLED');
      await mutate(two.url, UPDATE_ROLES, { id: paused.id, enabled: true });
      expect(await whoAmI(one.url, paused.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
      expect(await whoAmI(two.url, paused.secret)).toEqual({ roles: ['keyledger:tokens:read'] });

      // And on the process that made the change.
      expect(await whoAmI(one.url, changed.secret)).toEqual({ roles: ['keyledger:tokens:read', 'keyledger:tokens:write'] });
      await mutate(two.url, REVOKE_TOKEN, { id: changed.id });
      expect(await whoAmI(two.url, changed.secret)).toBe('UNAUTHENTICATED');
      expect(await whoAmI(one.url, changed.secret)).toBe('UNAUTHENTICATED');
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'replicas on one EventStoreDB: refused on the next request once the other replica has the revocation',
    async () => {
      double = await EsdbDouble.start();
      const env = { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY };
      const one = await fleet.start(fleet.tempDir(), env);
      const two = await fleet.start(fleet.tempDir(), env);

      const caller = await issueToken(one.url, ROOT_SECRET, { name: 'replica caller', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const changed = await issueToken(one.url, ROOT_SECRET, { name: 'replica changed', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const paused = await issueToken(one.url, ROOT_SECRET, { name: 'replica paused', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      await eventually(async () => typeof (await whoAmI(two.url, paused.secret)) === 'object', 10_000);
      expect(await whoAmI(two.url, paused.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
      await eventually(async () => typeof (await whoAmI(two.url, changed.secret)) === 'object', 10_000);
      await eventually(async () => typeof (await whoAmI(two.url, caller.secret)) === 'object', 10_000);
      expect(await whoAmI(two.url, caller.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
      expect(await whoAmI(two.url, changed.secret)).toEqual({ roles: ['keyledger:tokens:read'] });

      await mutate(one.url, REVOKE_TOKEN, { id: caller.id, reason: 'replica caller changes' });
      await mutate(one.url, UPDATE_ROLES, { id: paused.id, enabled: false });
      await mutate(one.url, UPDATE_ROLES, { id: changed.id, roles: ['keyledger:tokens:read', 'keyledger:tokens:write'] });
      // The other replica's read models have both changes once they show the later one.
      await eventually(async () => {
        const seen = await graphql(two.url, VERIFY_TOKEN, { token: changed.secret, requiredRoles: ['keyledger:tokens:write'] }, ROOT_SECRET);
        return seen.data?.verifyToken?.code === 'VALID';
      }, 10_000);
      expect(await whoAmI(two.url, caller.secret)).toBe('UNAUTHENTICATED');
      expect(await whoAmI(two.url, paused.secret)).toBe('UNAUTHENTICATED');
      expect(await verifyCode(two.url, paused.secret)).toBe('DISABLED');
      expect(await whoAmI(two.url, changed.secret)).toEqual({ roles: ['keyledger:tokens:read', 'keyledger:tokens:write'] });

      // Resuming is no announcement: the other replica serves the caller once its read models have it.
      await mutate(one.url, UPDATE_ROLES, { id: paused.id, enabled: true });
      await eventually(async () => (await verifyCode(two.url, paused.secret)) === 'VALID', 10_000);
      expect(await whoAmI(two.url, paused.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});

describe('a caller whose token expires, or whose old secret leaves its grace period', () => {
  it('is refused on its first request after that moment, however recently it was served', async () => {
    const clock = new TestClock();
    const gateway = await startTestGateway({ clock });
    try {
      const expiresAt = new Date(clock.now().getTime() + 3600_000).toISOString();
      const expiring = await issueToken(gateway.url, ROOT_SECRET, { name: 'expiring', tenantId: 'acme', roles: ['keyledger:tokens:read'], expiresAt });
      const rotated = await issueToken(gateway.url, ROOT_SECRET, { name: 'rotated', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      await mutate(gateway.url, ROTATE, { id: rotated.id, gracePeriodSeconds: 1800 });
      for (const secret of [expiring.secret, rotated.secret]) {
        expect(await whoAmI(gateway.url, secret)).toEqual({ roles: ['keyledger:tokens:read'] });
        expect(await whoAmI(gateway.url, secret)).toEqual({ roles: ['keyledger:tokens:read'] });
      }

      clock.advance(1800_000);
      expect(await whoAmI(gateway.url, rotated.secret)).toBe('UNAUTHENTICATED');
      expect(await whoAmI(gateway.url, expiring.secret)).toEqual({ roles: ['keyledger:tokens:read'] });
      clock.advance(1800_000);
      expect(await whoAmI(gateway.url, expiring.secret)).toBe('UNAUTHENTICATED');
    } finally {
      await gateway.stop();
    }
  }, 30_000);
});
