import Database from 'better-sqlite3';
import { createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataKeyWrappingKeys, parseMasterKey } from '../../src/crypto/keyring';
import { CONNECTION_DATA_KEYS_TABLE } from '../../src/app/connections/connection-module';
import { CREATE_CONNECTION, createConnection, DELETE_CONNECTION, rest, UPDATE_CONNECTION, useConnection } from '../helpers/connections-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { spawnGateway } from '../helpers/gateway-process';
import { graphql } from '../helpers/graphql-client';
import { makeTempDir } from '../helpers/temp-dir';
import { findSecrets } from '../helpers/byte-scan';

/** AES-256-GCM over `iv ‖ tag ‖ ciphertext` with `context` as associated data; null when it does not open. */
function tryOpen(key: Buffer, sealed: Buffer, context: string): Buffer | null {
  if (sealed.length < 28) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
  } catch {
    return null;
  }
}

const KEYS = {
  created: 'sk_live_CREATEDxxKey_9f8e7d6c5b4a3210',
  replaced: 'sk_live_REPLACEDxKey_0a1b2c3d4e5f6789',
  replacement: 'sk_live_REPLACEMENT_5f4e3d2c1b0a9988',
  deleted: 'sk_live_DELETEDxxKey_1122334455667788',
  viaRest: 'sk_live_VIARESTxxKey_8877665544332211',
  refused: 'sk_live_REFUSEDxxKey_abcdefabcdef0000',
};

describe('connection keys at rest, in logs and after deletion', () => {
  it('no API key reaches the data directory or the logs; after delete and replace, the whole directory and the master key recover none of the old keys', async () => {
    const temp = makeTempDir();
    const gateway = await spawnGateway(temp.path, { LOG_LEVEL: 'trace' });
    try {
      const { url } = gateway;
      const admin = await issueToken(url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
      const base = { integration: 'crm', headerName: 'x-api-key', allowedDomain: 'api.example.com' };
      await createConnection(url, admin.secret, { ...base, name: 'kept', apiKey: KEYS.created });
      await createConnection(url, admin.secret, { ...base, name: 'rotated', apiKey: KEYS.replaced });
      await createConnection(url, admin.secret, { ...base, name: 'doomed', apiKey: KEYS.deleted });
      expect((await rest(url, 'POST', 'crm/connections/api_key', admin.secret, { name: 'via_rest', header_name: 'x-key', api_key: KEYS.viaRest, allowed_domain: 'api.example.com' })).status).toBe(201);
      const updated = await graphql(url, UPDATE_CONNECTION, { input: { integration: 'crm', name: 'rotated', apiKey: KEYS.replacement } }, admin.secret);
      expect(updated.errors).toBeUndefined();
      for (const name of ['kept', 'rotated', 'doomed', 'via_rest']) {
        const used = await useConnection(url, admin.secret, { integration: 'crm', name, url: 'https://api.example.com/v1' });
        expect(used.errors).toBeUndefined();
      }
      // Keys sent where they are refused: a bad header name, a wrong type, a query string, a REST body with a bad domain.
      await graphql(url, CREATE_CONNECTION, { input: { ...base, name: 'refused', headerName: 'Host', apiKey: KEYS.refused } }, admin.secret);
      await graphql(url, CREATE_CONNECTION, { input: { ...base, name: 'refused', apiKey: { nested: KEYS.refused } } }, admin.secret);
      await fetch(`${url}/graphql?query=${encodeURIComponent(`{ apiKeyConnection(integration: "${KEYS.refused}", name: "x") { name } }`)}`, {
        headers: { authorization: `Bearer ${admin.secret}`, 'apollo-require-preflight': 'true' },
      });
      await rest(url, 'POST', 'crm/connections/api_key', admin.secret, { name: 'refused', header_name: 'x', api_key: KEYS.refused, allowed_domain: '*.com' });

      const deleted = await graphql(url, DELETE_CONNECTION, { integration: 'crm', name: 'doomed' }, admin.secret);
      expect(deleted.data!.deleteApiKeyConnection).toBe(true);

      const all = Object.values(KEYS);
      expect(findSecrets(temp.path, all)).toEqual([]);
      expect(await gateway.kill('SIGTERM')).toBe(0);
      // After shutdown the WALs are checkpointed into the main files: look again.
      expect(findSecrets(temp.path, all)).toEqual([]);
      const logs = gateway.output();
      expect(logs).toContain('"path":"/graphql"');
      for (const key of all) expect(logs).not.toContain(key);

      // An attacker with the whole data directory and the master key.
      const masterKey = parseMasterKey(readFileSync(join(temp.path, 'master.key'), 'utf8'));
      const wrapping = dataKeyWrappingKeys({ current: masterKey, previous: null });
      const keysDb = new Database(join(temp.path, 'keys.db'), { readonly: true });
      const tables = keysDb.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((row) => row.name);
      expect(tables).toEqual(expect.arrayContaining(['data_keys', CONNECTION_DATA_KEYS_TABLE]));
      const dataKeys = tables.flatMap((table) =>
        keysDb
          .prepare<[], { id: string; wrapped_key: Buffer }>(`SELECT id, wrapped_key FROM ${table}`)
          .all()
          .map((row) => wrapping.unwrap(row.wrapped_key, `keyledger/data-key/v1:${row.id}`))
          .filter((key): key is Buffer => key !== null),
      );
      keysDb.close();
      // The live connections' keys (kept, rotated's replacement, via_rest) are there and do unwrap: the attacker is real.
      expect(dataKeys.length).toBeGreaterThanOrEqual(3);

      const events = new Database(join(temp.path, 'events.db'), { readonly: true });
      const rows = events
        .prepare<[], { type: string; data: string }>("SELECT type, data FROM events WHERE type IN ('ConnectionCreated', 'ConnectionUpdated')")
        .all()
        .map((row) => ({ type: row.type, data: JSON.parse(row.data) }));
      events.close();
      const connectionIds = [...new Set(rows.map((row) => row.data.connectionId as string))];
      const ciphertexts = rows
        .map((row) => (row.type === 'ConnectionCreated' ? row.data.sealedApiKey : row.data.changes.sealedApiKey))
        .filter(Boolean)
        .map((sealed: { ciphertext: string }) => Buffer.from(sealed.ciphertext.split('.')[1], 'base64url'));
      expect(ciphertexts).toHaveLength(5);

      const recovered = new Set<string>();
      for (const ciphertext of ciphertexts) {
        for (const key of [...dataKeys, masterKey]) {
          for (const context of connectionIds.map((id) => `keyledger/sealed-secret/v1:${id}`)) {
            const plaintext = tryOpen(key, ciphertext, context);
            if (plaintext) recovered.add(plaintext.toString());
          }
        }
      }
      // Exactly the live keys open; the deleted and the replaced ones are gone for good.
      expect([...recovered].sort()).toEqual([KEYS.created, KEYS.replacement, KEYS.viaRest].sort());
    } finally {
      await gateway.kill('SIGKILL');
      temp.remove();
    }
  }, 60_000);
});
