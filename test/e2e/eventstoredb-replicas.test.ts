import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EventStoreDbEventStore } from '../../src/eventstore/eventstoredb';
import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { MAIN_JS, GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { graphql, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';

const MASTER_KEY = Buffer.alloc(32, 42).toString('base64');
const OTHER_MASTER_KEY = Buffer.alloc(32, 43).toString('base64');
/** Each test spawns up to three gateway processes; on a loaded machine that alone can take most of jest's default 30 s. */
const PROCESS_TEST_TIMEOUT_MS = 60_000;
const TOKENS_QUERY = `query Tokens($filter: TokenFilter) { tokens(first: 100, filter: $filter) { totalCount edges { node { id status } } } }`;

async function verificationCode(url: string, secret: string): Promise<string | undefined> {
  const response = await graphql(url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET);
  return response.data?.verifyToken?.code;
}

/** Gateway processes of the compiled build, each with its own data directory, sharing one EventStoreDB (the double). */
describe('gateway replicas on one EventStoreDB', () => {
  let double: EsdbDouble;
  const fleet = new GatewayFleet('keyledger-replica');

  function replica(env: Record<string, string> = {}, dataDir = fleet.tempDir()): Promise<GatewayProcess> {
    return fleet.start(dataDir, { EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: MASTER_KEY, ...env });
  }

  beforeEach(async () => {
    double = await EsdbDouble.start();
  });

  afterEach(async () => {
    await fleet.stop();
    await double.close();
  });

  it('a token issued through one replica verifies through the other, and a revocation reaches the other', async () => {
    const one = await replica();
    const two = await replica();

    const fromOne = await issueToken(one.url, ROOT_SECRET, { name: 'issued on one', tenantId: 'acme' });
    await eventually(async () => (await verificationCode(two.url, fromOne.secret)) === 'VALID');
    const fromTwo = await issueToken(two.url, ROOT_SECRET, { name: 'issued on two', tenantId: 'acme' });
    await eventually(async () => (await verificationCode(one.url, fromTwo.secret)) === 'VALID');

    const revokedOnOne = await graphql(one.url, REVOKE_TOKEN, { input: { id: fromOne.id, reason: 'replica test' } }, ROOT_SECRET);
    expect(revokedOnOne.data!.revokeToken).toMatchObject({ id: fromOne.id, status: 'REVOKED' });
    await eventually(async () => (await verificationCode(two.url, fromOne.secret)) === 'REVOKED');

    const revokedOnTwo = await graphql(two.url, REVOKE_TOKEN, { input: { id: fromTwo.id } }, ROOT_SECRET);
    expect(revokedOnTwo.data!.revokeToken).toMatchObject({ id: fromTwo.id, status: 'REVOKED' });
    await eventually(async () => (await verificationCode(one.url, fromTwo.secret)) === 'REVOKED');
  }, PROCESS_TEST_TIMEOUT_MS);

  it('a replica started with an empty data directory rebuilds its read models from the log and verifies at once', async () => {
    const one = await replica();
    const active = await issueToken(one.url, ROOT_SECRET, { name: 'kept', tenantId: 'acme', roles: ['orders:read'] });
    const revoked = await issueToken(one.url, ROOT_SECRET, { name: 'revoked', tenantId: 'acme' });
    await graphql(one.url, REVOKE_TOKEN, { input: { id: revoked.id } }, ROOT_SECRET);
    await one.kill('SIGTERM');

    const emptyDir = fleet.tempDir();
    expect(existsSync(join(emptyDir, 'readmodels.db'))).toBe(false);
    const fresh = await replica({}, emptyDir);
    expect(existsSync(join(emptyDir, 'readmodels.db'))).toBe(true);

    // No waiting: ready means the read models hold everything that was in the log at start.
    expect((await graphql(fresh.url, VERIFY_TOKEN, { token: active.secret }, ROOT_SECRET)).data!.verifyToken).toEqual({
      valid: true,
      code: 'VALID',
      token: { id: active.id, status: 'ACTIVE', roles: ['orders:read'] },
    });
    expect(await verificationCode(fresh.url, revoked.secret)).toBe('REVOKED');
    const listed = await graphql(fresh.url, TOKENS_QUERY, { filter: { tenantId: 'acme' } }, ROOT_SECRET);
    expect(listed.data!.tokens.totalCount).toBe(2);
    expect(listed.data!.tokens.edges.map((edge: any) => edge.node)).toEqual([
      { id: revoked.id, status: 'REVOKED' },
      { id: active.id, status: 'ACTIVE' },
    ]);
  }, PROCESS_TEST_TIMEOUT_MS);

  it('refuses to start with EVENTSTORE_CONNECTION_STRING but no KEYLEDGER_MASTER_KEY: exit code 78 and a message naming the variable', async () => {
    const dataDir = fleet.tempDir();
    const child = spawn(process.execPath, [MAIN_JS], {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', KEYLEDGER_DATA_DIR: dataDir, EVENTSTORE_CONNECTION_STRING: double.connectionString },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
    child.stdout.resume();
    try {
      const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
      expect(code).toBe(78);
      expect(stderr).toMatch(/KEYLEDGER_MASTER_KEY is required when EVENTSTORE_CONNECTION_STRING is set/);
      // A development key generated per replica would silently split the replicas' keys.
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, PROCESS_TEST_TIMEOUT_MS);

  it('the bootstrap root token created through one replica authenticates on another, which derives the same keys from the deployment secret in the shared log', async () => {
    const one = await replica();
    const generated = await issueToken(one.url, ROOT_SECRET, { name: 'generated secret', tenantId: 'acme' });
    // Without KEYLEDGER_BOOTSTRAP_TOKEN the second replica cannot have created a root token of its own.
    const two = await replica({ KEYLEDGER_BOOTSTRAP_TOKEN: '' });
    expect(two.output()).not.toContain('created the root token');

    const viewer = await graphql(two.url, '{ viewer { id tenantId roles } }', {}, ROOT_SECRET);
    expect(viewer.data!.viewer).toEqual({ id: 'tok_bootstrap', tenantId: 'system', roles: ['keyledger:root'] });
    expect(await verificationCode(two.url, generated.secret)).toBe('VALID');

    const store = EventStoreDbEventStore.connect(double.connectionString);
    try {
      const bootstrapEvents = await store.readStream('token-tok_bootstrap');
      expect(bootstrapEvents.map((event) => event.type)).toEqual(['TokenIssued']);
    } finally {
      await store.close();
    }

    // The control: a replica with another master key cannot open the deployment secret in the shared log, so it refuses to start.
    await expect(replica({ KEYLEDGER_BOOTSTRAP_TOKEN: '', KEYLEDGER_MASTER_KEY: OTHER_MASTER_KEY })).rejects.toThrow(
      /neither KEYLEDGER_MASTER_KEY nor KEYLEDGER_PREVIOUS_MASTER_KEY/,
    );
  }, PROCESS_TEST_TIMEOUT_MS);
});
