import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';
import { graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';

const MASTER_KEY = Buffer.alloc(32, 12).toString('base64');
/** Each test spawns two gateway processes; on a loaded two-core machine that alone takes a while. */
const PROCESS_TEST_TIMEOUT_MS = 90_000;
const UPDATE_ROLES = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id roles } }`;
const ROTATE = `mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { secret } }`;
const UPDATE_CREDITS = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id } }`;
const METERED = `query Verify($token: String!) { verifyToken(token: $token, cost: 1) { code remaining } }`;

interface Verdict {
  code: string;
  roles: string[] | null;
}

/** What `verifyToken` answers a resource server about `secret` at `url`. */
async function verdictOf(url: string, verifier: string, secret: string): Promise<Verdict> {
  const response = await graphql(url, VERIFY_TOKEN, { token: secret }, verifier);
  expect(response.errors).toBeUndefined();
  const verification = response.data!.verifyToken as { code: string; token: { roles: string[] } | null };
  return { code: verification.code, roles: verification.token?.roles ?? null };
}

async function mutate(url: string, query: string, input: Record<string, unknown>): Promise<void> {
  const response = await graphql(url, query, { input }, ROOT_SECRET);
  expect(response.errors).toBeUndefined();
}

/**
 * A token that a process has just verified (so that it holds what it read of the token) and
 * that is then revoked, rotated or given other roles through another process verifies with its
 * new state on its next verification at the first: a process never answers from what it read
 * before the change.
 */
describe('a verified token changed through one process, on its next verification at another', () => {
  const fleet = new GatewayFleet('keyledger-verified-changes');
  let double: EsdbDouble | null = null;

  afterEach(async () => {
    await fleet.stop();
    await double?.close();
    double = null;
  });

  it(
    'two processes on one SQLite data directory: no wait at all between the change and the next verification',
    async () => {
      const dataDir = fleet.tempDir();
      const one = await fleet.start(dataDir, { KEYLEDGER_MASTER_KEY: MASTER_KEY });
      const two = await fleet.start(dataDir, { KEYLEDGER_MASTER_KEY: MASTER_KEY });

      const verifier = await issueToken(one.url, ROOT_SECRET, { name: 'resource server', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const revoked = await issueToken(one.url, ROOT_SECRET, { name: 'revoked', tenantId: 'acme', roles: ['deploy'] });
      const rotated = await issueToken(one.url, ROOT_SECRET, { name: 'rotated', tenantId: 'acme', roles: ['deploy'] });
      const changed = await issueToken(one.url, ROOT_SECRET, { name: 'changed', tenantId: 'acme', roles: ['deploy'] });
      for (const token of [revoked, rotated, changed]) {
        for (const gateway of [one, two]) {
          // Twice: the second is answered by whatever the first left behind.
          expect(await verdictOf(gateway.url, verifier.secret, token.secret)).toEqual({ code: 'VALID', roles: ['deploy'] });
          expect(await verdictOf(gateway.url, verifier.secret, token.secret)).toEqual({ code: 'VALID', roles: ['deploy'] });
        }
      }

      await mutate(one.url, REVOKE_TOKEN, { id: revoked.id, reason: 'verified changes' });
      expect(await verdictOf(two.url, verifier.secret, revoked.secret)).toEqual({ code: 'REVOKED', roles: ['deploy'] });

      await mutate(one.url, ROTATE, { id: rotated.id, gracePeriodSeconds: 0 });
      expect(await verdictOf(two.url, verifier.secret, rotated.secret)).toEqual({ code: 'REVOKED', roles: ['deploy'] });

      await mutate(one.url, UPDATE_ROLES, { id: changed.id, roles: ['deploy', 'release'] });
      expect(await verdictOf(two.url, verifier.secret, changed.secret)).toEqual({ code: 'VALID', roles: ['deploy', 'release'] });

      // Usage controls given to a token that has verified without any are kept to at once.
      const metered = async (url: string) => (await graphql(url, METERED, { token: changed.secret }, verifier.secret)).data?.verifyToken;
      for (const gateway of [one, two]) {
        expect(await metered(gateway.url)).toEqual({ code: 'VALID', remaining: null });
        expect(await metered(gateway.url)).toEqual({ code: 'VALID', remaining: null });
      }
      await mutate(one.url, UPDATE_CREDITS, { id: changed.id, credits: { remaining: 1 } });
      expect(await metered(two.url)).toEqual({ code: 'VALID', remaining: 0 });
      expect(await metered(two.url)).toEqual({ code: 'USAGE_EXCEEDED', remaining: 0 });
      expect(await metered(one.url)).toEqual({ code: 'USAGE_EXCEEDED', remaining: 0 });
      await mutate(two.url, UPDATE_CREDITS, { id: changed.id, credits: null });
      expect(await metered(one.url)).toEqual({ code: 'VALID', remaining: null });

      // And on the process that made the change.
      expect(await verdictOf(one.url, verifier.secret, revoked.secret)).toEqual({ code: 'REVOKED', roles: ['deploy'] });
      expect(await verdictOf(one.url, verifier.secret, changed.secret)).toEqual({ code: 'VALID', roles: ['deploy', 'release'] });
      await mutate(two.url, REVOKE_TOKEN, { id: changed.id });
      expect(await verdictOf(two.url, verifier.secret, changed.secret)).toEqual({ code: 'REVOKED', roles: ['deploy', 'release'] });
      expect(await verdictOf(one.url, verifier.secret, changed.secret)).toEqual({ code: 'REVOKED', roles: ['deploy', 'release'] });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );

  it(
    'replicas on one EventStoreDB: the new state on the next verification once the other replica has the change',
    async () => {
      double = await EsdbDouble.start();
      const env = { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY };
      const one = await fleet.start(fleet.tempDir(), env);
      const two = await fleet.start(fleet.tempDir(), env);

      const verifier = await issueToken(one.url, ROOT_SECRET, { name: 'replica resource server', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
      const revoked = await issueToken(one.url, ROOT_SECRET, { name: 'replica revoked', tenantId: 'acme', roles: ['deploy'] });
      const changed = await issueToken(one.url, ROOT_SECRET, { name: 'replica changed', tenantId: 'acme', roles: ['deploy'] });
      await eventually(async () => (await graphql(two.url, VERIFY_TOKEN, { token: changed.secret }, verifier.secret)).data?.verifyToken?.code === 'VALID', 10_000);
      for (const token of [revoked, changed]) {
        expect(await verdictOf(two.url, verifier.secret, token.secret)).toEqual({ code: 'VALID', roles: ['deploy'] });
        expect(await verdictOf(two.url, verifier.secret, token.secret)).toEqual({ code: 'VALID', roles: ['deploy'] });
      }

      await mutate(one.url, REVOKE_TOKEN, { id: revoked.id, reason: 'replica verified changes' });
      await mutate(one.url, UPDATE_ROLES, { id: changed.id, roles: ['deploy', 'release'] });
      // The other replica's read models have both changes once they show the later one.
      await eventually(async () => (await verdictOf(two.url, verifier.secret, changed.secret)).roles?.length === 2, 10_000);
      expect(await verdictOf(two.url, verifier.secret, revoked.secret)).toEqual({ code: 'REVOKED', roles: ['deploy'] });
      expect(await verdictOf(two.url, verifier.secret, changed.secret)).toEqual({ code: 'VALID', roles: ['deploy', 'release'] });
    },
    PROCESS_TEST_TIMEOUT_MS,
  );
});
