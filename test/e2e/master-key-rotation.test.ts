import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEPLOYMENT_KEYS_STREAM } from '../../src/domain/deployment-keys';
import { dataKeyWrappingKeys, deploymentSecretWrappingKeys } from '../../src/crypto/keyring';
import { SqliteEventStore } from '../../src/eventstore/sqlite';
import { createConnection, useConnection } from '../helpers/connections-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { runCli } from '../helpers/gateway-process';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { makeTempDir } from '../helpers/temp-dir';

const M1 = randomBytes(32);
const M2 = randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');

/** Each blob of keys.db, from every table, with the id that is its wrapping context. */
function wrappedDataKeys(dataDir: string): Array<{ id: string; wrapped: Buffer }> {
  const db = new Database(join(dataDir, 'keys.db'), { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((row) => row.name);
    return tables.flatMap((table) => db.prepare<[], { id: string; wrapped_key: Buffer }>(`SELECT id, wrapped_key FROM ${table}`).all().map((row) => ({ id: row.id, wrapped: row.wrapped_key })));
  } finally {
    db.close();
  }
}

/** Null when the blob does not open under `keys`, whether refused by id or by authentication. */
function opens(unwrap: () => Buffer | null): boolean {
  try {
    return unwrap() !== null;
  } catch {
    return false;
  }
}

describe('master key rotation', () => {
  const temp = makeTempDir('rotation');
  const dataDir = temp.path;
  const started: TestGateway[] = [];
  const start = async (env: Record<string, string>) => {
    const gw = await startTestGateway({ dataDir, env });
    started.push(gw);
    return gw;
  };
  afterAll(async () => {
    for (const gw of started) await gw.stop();
    temp.remove();
  });

  it('re-wraps every data key and the deployment secret without downtime; afterwards the old key opens nothing and tokens still verify', async () => {
    // Before: a deployment on M1 with tokens, an integration key (its own data key), and connections.
    const before = await start({ KEYLEDGER_MASTER_KEY: b64(M1) });
    const admin = await issueToken(before.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
    const service = await issueToken(before.url, admin.secret, { name: 'service', roles: ['orders:read'] });
    await issueToken(before.url, admin.secret, { name: 'integration', kind: 'INTEGRATION_KEY', integrationId: 'crm-app' });
    const base = { integration: 'crm', headerName: 'x-api-key', allowedDomain: 'api.example.com' };
    const keys: Record<string, string> = { alpha: 'sk_alpha_0123456789abcdef', beta: 'sk_beta_0123456789abcdef', gamma: 'sk_gamma_0123456789abcdef' };
    for (const [name, apiKey] of Object.entries(keys)) await createConnection(before.url, admin.secret, { ...base, name, apiKey });
    await before.stop();
    started.pop();

    // Step 1: gateways restart with the new key and the previous one.
    const rolling = await start({ KEYLEDGER_MASTER_KEY: b64(M2), KEYLEDGER_PREVIOUS_MASTER_KEY: b64(M1) });
    const use = (gw: TestGateway, name: string) => useConnection(gw.url, admin.secret, { integration: 'crm', name, url: 'https://api.example.com/' });
    expect((await use(rolling, 'alpha')).data!.useApiKeyConnection.apiKey).toBe(keys.alpha);
    keys.delta = 'sk_delta_0123456789abcdef';
    await createConnection(rolling.url, admin.secret, { ...base, name: 'delta', apiKey: keys.delta });

    // Step 2: the rotation runs while that gateway keeps serving.
    const serving = (async () => {
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push((await use(rolling, 'beta')).data?.useApiKeyConnection?.apiKey);
      return answers;
    })();
    const rotation = await runCli(['rotate-master-key'], {
      KEYLEDGER_DATA_DIR: dataDir,
      KEYLEDGER_MASTER_KEY: b64(M2),
      KEYLEDGER_PREVIOUS_MASTER_KEY: b64(M1),
      LOG_LEVEL: 'warn',
    });
    expect(rotation).toMatchObject({ code: 0 });
    expect(rotation.stdout).toMatch(/deployment secret: rewrapped/);
    expect(rotation.stdout).toMatch(/connection_data_keys: 3 re-wrapped, 1 already current, 0 failed/);
    expect(rotation.stdout).toMatch(/data_keys: 1 re-wrapped, 0 already current, 0 failed/);
    expect((await serving).every((answer) => answer === keys.beta)).toBe(true);
    await rolling.stop();
    started.pop();

    // Step 3: the previous key is removed.
    const after = await start({ KEYLEDGER_MASTER_KEY: b64(M2) });
    for (const [name, apiKey] of Object.entries(keys)) expect((await use(after, name)).data!.useApiKeyConnection.apiKey).toBe(apiKey);
    const verified = await graphql(after.url, VERIFY_TOKEN, { token: service.secret }, admin.secret);
    expect(verified.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID' });
    await expect(after.gateway.partners.signingKeys.signJwt({ sub: 'rotation-check' }, { typ: 'JWT' })).resolves.toMatchObject({ jwt: expect.any(String) });

    // No wrapped blob of keys.db, nor the current wrapping of the deployment secret, opens with the old key.
    const oldDataKeyWrapping = dataKeyWrappingKeys({ current: M1, previous: null });
    const blobs = wrappedDataKeys(dataDir);
    expect(blobs.length).toBeGreaterThanOrEqual(5);
    for (const { id, wrapped } of blobs) expect(opens(() => oldDataKeyWrapping.unwrap(wrapped, `keyledger/data-key/v1:${id}`))).toBe(false);
    const store = SqliteEventStore.open(join(dataDir, 'events.db'));
    try {
      const events = await store.readStream(DEPLOYMENT_KEYS_STREAM);
      expect(events.map((event) => event.type)).toEqual(['DeploymentSecretGenerated', 'DeploymentSecretRewrapped']);
      const latest = Buffer.from((events[1].data as { wrapped: { blob: string } }).wrapped.blob, 'base64url');
      expect(opens(() => deploymentSecretWrappingKeys({ current: M1, previous: null }).unwrap(latest, 'keyledger/deployment-secret/v1'))).toBe(false);
      expect(opens(() => deploymentSecretWrappingKeys({ current: M2, previous: null }).unwrap(latest, 'keyledger/deployment-secret/v1'))).toBe(true);
    } finally {
      await store.close();
    }

    // A gateway holding only the old key refuses to start, and says why.
    await expect(startTestGateway({ dataDir, env: { KEYLEDGER_MASTER_KEY: b64(M1) } })).rejects.toThrow(
      /neither KEYLEDGER_MASTER_KEY nor KEYLEDGER_PREVIOUS_MASTER_KEY/,
    );
  }, 120_000);

  it('running it again changes nothing; without both keys it refuses with a configuration error', async () => {
    const again = await runCli(['rotate-master-key'], {
      KEYLEDGER_DATA_DIR: dataDir,
      KEYLEDGER_MASTER_KEY: b64(M2),
      KEYLEDGER_PREVIOUS_MASTER_KEY: b64(M1),
      LOG_LEVEL: 'warn',
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/deployment secret: unchanged/);
    expect(again.stdout).toMatch(/connection_data_keys: 0 re-wrapped, 4 already current, 0 failed/);
    const missing = await runCli(['rotate-master-key'], { KEYLEDGER_DATA_DIR: dataDir, KEYLEDGER_MASTER_KEY: b64(M2) });
    expect(missing.code).toBe(78);
    expect(missing.stderr).toMatch(/KEYLEDGER_PREVIOUS_MASTER_KEY/);
    const same = await runCli(['rotate-master-key'], { KEYLEDGER_DATA_DIR: dataDir, KEYLEDGER_MASTER_KEY: b64(M2), KEYLEDGER_PREVIOUS_MASTER_KEY: b64(M2) });
    expect(same.code).toBe(1);
    expect(same.stderr).toMatch(/are the same key/);
  }, 60_000);
});
