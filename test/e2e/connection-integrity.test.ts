import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CONNECTION_DATA_KEYS_TABLE } from '../../src/app/connections/connection-module';
import { WrappingKeys } from '../../src/crypto/wrapping-keys';
import { createConnection, useConnection } from '../helpers/connections-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode } from '../helpers/graphql-client';

/**
 * What a gateway does when stored bytes are not what it wrote: a ciphertext altered in the
 * read model, a wrapped data key altered in keys.db, a data key wrapped by a master key the
 * gateway does not hold. Each use fails with INTERNAL_SERVER_ERROR and a safe message, is
 * logged, and never yields a key (AES-GCM authenticates every layer).
 */
describe('connection keys that do not decrypt', () => {
  let gw: TestGateway;
  let admin: string;
  const base = { integration: 'crm', headerName: 'x-api-key', allowedDomain: 'api.example.com' };
  const use = (name: string) => useConnection(gw.url, admin, { integration: 'crm', name, url: 'https://api.example.com/' });
  const withDb = (file: string, run: (db: Database.Database) => void) => {
    const db = new Database(join(gw.dataDir, file));
    try {
      run(db);
    } finally {
      db.close();
    }
  };
  const dataKeyIdOf = (name: string) => {
    let id = '';
    withDb('readmodels.db', (db) => {
      const row = db.prepare<[string], { sealed_api_key: string }>('SELECT sealed_api_key FROM api_key_connections WHERE name = ?').get(name)!;
      id = JSON.parse(row.sealed_api_key).dataKeyId;
    });
    return id;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => gw.stop());

  it('an altered ciphertext', async () => {
    const apiKey = 'sk_ciphertext_0123456789';
    await createConnection(gw.url, admin, { ...base, name: 'altered_ciphertext', apiKey });
    withDb('readmodels.db', (db) => {
      const row = db.prepare<[string], { sealed_api_key: string }>('SELECT sealed_api_key FROM api_key_connections WHERE name = ?').get('altered_ciphertext')!;
      const sealed = JSON.parse(row.sealed_api_key);
      const body = Buffer.from(sealed.ciphertext.slice(3), 'base64url');
      body[body.length - 1] ^= 0x01;
      sealed.ciphertext = `v1.${body.toString('base64url')}`;
      db.prepare('UPDATE api_key_connections SET sealed_api_key = ? WHERE name = ?').run(JSON.stringify(sealed), 'altered_ciphertext');
    });
    const response = await use('altered_ciphertext');
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    expect(response.errors![0].message).toMatch(/cannot be decrypted, so it was not used/);
    expect(response.data).toBeNull();
    expect(response.raw).not.toContain(apiKey);
    expect(gw.logs()).toContain('the ciphertext of a connection key does not open under its data key');
  });

  it('an altered wrapped data key', async () => {
    await createConnection(gw.url, admin, { ...base, name: 'altered_data_key', apiKey: 'sk_datakey_0123456789' });
    const id = dataKeyIdOf('altered_data_key');
    withDb('keys.db', (db) => {
      const row = db.prepare<[string], { wrapped_key: Buffer }>(`SELECT wrapped_key FROM ${CONNECTION_DATA_KEYS_TABLE} WHERE id = ?`).get(id)!;
      const wrapped = Buffer.from(row.wrapped_key);
      wrapped[wrapped.length - 1] ^= 0x01;
      db.prepare(`UPDATE ${CONNECTION_DATA_KEYS_TABLE} SET wrapped_key = ? WHERE id = ?`).run(wrapped, id);
    });
    const response = await use('altered_data_key');
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    expect(response.errors![0].message).toMatch(/Check KEYLEDGER_MASTER_KEY/);
    expect(gw.logs()).toContain('a connection data key cannot be unwrapped');
  });

  it('a data key wrapped by a master key this gateway does not hold', async () => {
    await createConnection(gw.url, admin, { ...base, name: 'foreign_master', apiKey: 'sk_foreign_0123456789' });
    const id = dataKeyIdOf('foreign_master');
    const foreign = new WrappingKeys([randomBytes(32)]);
    withDb('keys.db', (db) => {
      db.prepare(`UPDATE ${CONNECTION_DATA_KEYS_TABLE} SET wrapped_key = ? WHERE id = ?`).run(foreign.wrap(randomBytes(32), `keyledger/data-key/v1:${id}`), id);
    });
    const response = await use('foreign_master');
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    expect(response.errors![0].message).not.toMatch(/stack|\.ts:/);
    expect(gw.logs()).toContain(`was wrapped by key ${foreign.currentId}, which is neither KEYLEDGER_MASTER_KEY nor KEYLEDGER_PREVIOUS_MASTER_KEY`);
  });

  it('a data key missing from keys.db is reported as such, not as a missing connection', async () => {
    await createConnection(gw.url, admin, { ...base, name: 'missing_key', apiKey: 'sk_missing_0123456789' });
    const id = dataKeyIdOf('missing_key');
    withDb('keys.db', (db) => db.prepare(`DELETE FROM ${CONNECTION_DATA_KEYS_TABLE} WHERE id = ?`).run(id));
    const response = await use('missing_key');
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    expect(response.errors![0].message).toMatch(/data key is missing from the key store/);
  });
});
