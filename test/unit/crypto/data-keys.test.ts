import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DataKeyExistsError, SqliteDataKeyStore } from '../../../src/crypto/data-keys';
import { SecretSealer } from '../../../src/crypto/envelope';
import { makeTempDir } from '../../helpers/temp-dir';

describe('SqliteDataKeyStore', () => {
  let temp: { path: string; remove(): void };
  let path: string;

  beforeEach(() => {
    temp = makeTempDir('data-keys');
    path = join(temp.path, 'keys.db');
  });
  afterEach(() => temp.remove());

  it('puts, gets, lists and destroys keys; destroying twice is fine', async () => {
    const store = new SqliteDataKeyStore(path);
    const wrapped = randomBytes(60);
    await store.put('tok_a', wrapped);
    expect(await store.get('tok_a')).toEqual(wrapped);
    expect(await store.get('tok_missing')).toBeNull();
    expect((await store.list()).map((key) => key.id)).toEqual(['tok_a']);
    await store.destroy('tok_a');
    await store.destroy('tok_a');
    expect(await store.get('tok_a')).toBeNull();
    expect(await store.list()).toEqual([]);
    await store.close();
  });

  it('never replaces a key', async () => {
    const store = new SqliteDataKeyStore(path);
    await store.put('tok_a', randomBytes(60));
    await expect(store.put('tok_a', randomBytes(60))).rejects.toBeInstanceOf(DataKeyExistsError);
    await store.close();
  });

  it('is shared by two connections, as by two processes on one machine', async () => {
    const one = new SqliteDataKeyStore(path);
    const two = new SqliteDataKeyStore(path);
    const wrapped = randomBytes(60);
    await one.put('tok_a', wrapped);
    expect(await two.get('tok_a')).toEqual(wrapped);
    await two.destroy('tok_a');
    expect(await one.get('tok_a')).toBeNull();
    await Promise.all([one.close(), two.close()]);
  });

  it('leaves no byte of a destroyed key in any file of its directory', async () => {
    const store = new SqliteDataKeyStore(path);
    const doomed = randomBytes(60);
    await store.put('tok_doomed', doomed);
    for (let i = 0; i < 20; i++) await store.put(`tok_${i}`, randomBytes(60));
    await store.destroy('tok_doomed');
    await store.close();
    for (const file of readdirSync(temp.path)) {
      const bytes = readFileSync(join(temp.path, file));
      expect(bytes.includes(doomed)).toBe(false);
      expect(bytes.includes(Buffer.from('tok_doomed'))).toBe(false);
    }
  });
});

describe('SecretSealer', () => {
  let temp: { path: string; remove(): void };
  let store: SqliteDataKeyStore;
  let sealer: SecretSealer;
  const wrappingKey = randomBytes(32);

  beforeEach(() => {
    temp = makeTempDir('sealer');
    store = new SqliteDataKeyStore(join(temp.path, 'keys.db'));
    sealer = new SecretSealer(wrappingKey, store);
  });
  afterEach(async () => {
    await store.close();
    temp.remove();
  });

  it('seals and opens a secret; the ciphertext and the stored key hold neither the secret nor the data key in clear', async () => {
    await sealer.createDataKey('tok_a');
    const sealed = await sealer.seal('tok_a', 'tok_a', 'kli_secretsecretsecret');
    expect(sealed.dataKeyId).toBe('tok_a');
    expect(sealed.ciphertext).toMatch(/^v1\.[A-Za-z0-9_-]+$/);
    expect(sealed.ciphertext).not.toContain('secretsecret');
    expect(await sealer.open(sealed, 'tok_a')).toBe('kli_secretsecretsecret');
  });

  it('uses a fresh IV every time', async () => {
    await sealer.createDataKey('tok_a');
    const one = await sealer.seal('tok_a', 'tok_a', 'same secret');
    const two = await sealer.seal('tok_a', 'tok_a', 'same secret');
    expect(one.ciphertext).not.toBe(two.ciphertext);
  });

  it('a ciphertext moved onto another record does not open', async () => {
    await sealer.createDataKey('tok_a');
    const sealed = await sealer.seal('tok_a', 'tok_a', 'secret of a');
    expect(await sealer.open(sealed, 'tok_b')).toBeNull();
  });

  it('a tampered ciphertext does not open', async () => {
    await sealer.createDataKey('tok_a');
    const sealed = await sealer.seal('tok_a', 'tok_a', 'secret of a');
    const body = Buffer.from(sealed.ciphertext.slice(3), 'base64url');
    body[body.length - 1] ^= 1;
    expect(await sealer.open({ ...sealed, ciphertext: `v1.${body.toString('base64url')}` }, 'tok_a')).toBeNull();
  });

  it('after the data key is destroyed the secret is gone for good', async () => {
    await sealer.createDataKey('tok_a');
    const sealed = await sealer.seal('tok_a', 'tok_a', 'secret of a');
    await sealer.destroyDataKey('tok_a');
    expect(await sealer.open(sealed, 'tok_a')).toBeNull();
    await expect(sealer.seal('tok_a', 'tok_a', 'x')).rejects.toThrow(/does not exist/);
  });

  it('a data key wrapped under another master key cannot be unwrapped, and says why', async () => {
    await sealer.createDataKey('tok_a');
    const sealed = await sealer.seal('tok_a', 'tok_a', 'secret of a');
    const other = new SecretSealer(randomBytes(32), store);
    await expect(other.open(sealed, 'tok_a')).rejects.toThrow(/KEYLEDGER_MASTER_KEY/);
  });

  it('a wrapped key copied to another id does not unwrap', async () => {
    await sealer.createDataKey('tok_a');
    await store.put('tok_b', (await store.get('tok_a'))!);
    await expect(sealer.seal('tok_b', 'tok_b', 'x')).rejects.toThrow(/cannot be unwrapped/);
  });
});
