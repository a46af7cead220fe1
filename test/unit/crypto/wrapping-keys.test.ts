import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SqliteDataKeyStore } from '../../../src/crypto/data-keys';
import { SecretSealer } from '../../../src/crypto/envelope';
import { keyIdOf, UnknownWrappingKeyError, wrappingKeyId, WrappingKeys } from '../../../src/crypto/wrapping-keys';
import { makeTempDir } from '../../helpers/temp-dir';

const OLD = randomBytes(32);
const NEW = randomBytes(32);

describe('WrappingKeys', () => {
  it('wraps under the current key and names it in the blob', () => {
    const keys = new WrappingKeys([NEW, OLD]);
    const blob = keys.wrap(Buffer.from('data key'), 'ctx');
    expect(keyIdOf(blob)).toBe(wrappingKeyId(NEW));
    expect(keys.currentId).toBe(wrappingKeyId(NEW));
    expect(keys.unwrap(blob, 'ctx')!.toString()).toBe('data key');
    expect(blob.includes(Buffer.from('data key'))).toBe(false);
  });

  it('unwraps what the previous key wrapped, and says it needs re-wrapping', () => {
    const blob = new WrappingKeys([OLD]).wrap(Buffer.from('data key'), 'ctx');
    const rolling = new WrappingKeys([NEW, OLD]);
    expect(rolling.unwrap(blob, 'ctx')!.toString()).toBe('data key');
    expect(rolling.needsRewrap(blob)).toBe(true);
    expect(rolling.needsRewrap(rolling.wrap(Buffer.from('x'), 'ctx'))).toBe(false);
  });

  it('refuses, naming the key, a blob wrapped by a key it does not hold', () => {
    const blob = new WrappingKeys([OLD]).wrap(Buffer.from('data key'), 'ctx');
    const error = (() => {
      try {
        new WrappingKeys([NEW]).unwrap(blob, 'ctx', 'Data key cdk_1');
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(UnknownWrappingKeyError);
    expect((error as Error).message).toMatch(new RegExp(`Data key cdk_1 was wrapped by key ${wrappingKeyId(OLD)}`));
    expect((error as Error).message).toMatch(/KEYLEDGER_MASTER_KEY nor KEYLEDGER_PREVIOUS_MASTER_KEY/);
  });

  it('a tampered blob or another context opens to nothing, never to other bytes', () => {
    const keys = new WrappingKeys([NEW]);
    const blob = keys.wrap(Buffer.from('data key'), 'ctx');
    const tampered = Buffer.from(blob);
    tampered[tampered.length - 1] ^= 1;
    expect(keys.unwrap(tampered, 'ctx')).toBeNull();
    expect(keys.unwrap(blob, 'other ctx')).toBeNull();
  });

  it('opens blobs from before key ids (iv ‖ tag ‖ ciphertext) with any held key', () => {
    const legacy = (() => {
      const { createCipheriv } = require('node:crypto') as typeof import('node:crypto');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', OLD, iv);
      cipher.setAAD(Buffer.from('ctx'));
      const body = Buffer.concat([cipher.update(Buffer.from('legacy')), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    })();
    const keys = new WrappingKeys([NEW, OLD]);
    expect(keys.unwrap(legacy, 'ctx')!.toString()).toBe('legacy');
    expect(keys.needsRewrap(legacy)).toBe(true);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new WrappingKeys([])).toThrow(/At least one/);
    expect(() => new WrappingKeys([randomBytes(16)])).toThrow(/32 bytes/);
  });
});

describe('SecretSealer during a master key rotation', () => {
  let temp: { path: string; remove(): void };
  beforeEach(() => (temp = makeTempDir('rewrap')));
  afterEach(() => temp.remove());

  it('re-wraps every data key under the current key; the old key alone opens none of them afterwards; a second run does nothing', async () => {
    const store = new SqliteDataKeyStore(join(temp.path, 'keys.db'), { table: 'connection_data_keys' });
    try {
      const before = new SecretSealer(new WrappingKeys([OLD]), store);
      const sealed = [];
      for (const id of ['cdk_a', 'cdk_b', 'cdk_c']) {
        await before.createDataKey(id);
        sealed.push(await before.seal(id, `con_${id}`, `secret ${id}`));
      }
      const rolling = new SecretSealer(new WrappingKeys([NEW, OLD]), store);
      expect(await rolling.rewrapDataKeys()).toEqual({ rewrapped: 3, unchanged: 0, failed: [] });
      expect(await rolling.rewrapDataKeys()).toEqual({ rewrapped: 0, unchanged: 3, failed: [] });
      const after = new SecretSealer(new WrappingKeys([NEW]), store);
      for (const [i, id] of ['cdk_a', 'cdk_b', 'cdk_c'].entries()) {
        expect(await after.unseal(sealed[i], `con_${id}`)).toEqual({ status: 'opened', secret: `secret ${id}` });
        await expect(before.open(sealed[i], `con_${id}`)).rejects.toThrow(UnknownWrappingKeyError);
      }
    } finally {
      await store.close();
    }
  });

  it('reports, and skips, a key it cannot unwrap', async () => {
    const store = new SqliteDataKeyStore(join(temp.path, 'keys.db'));
    try {
      await new SecretSealer(new WrappingKeys([randomBytes(32)]), store).createDataKey('tok_stranger');
      await new SecretSealer(new WrappingKeys([OLD]), store).createDataKey('tok_known');
      const failures: string[] = [];
      const outcome = await new SecretSealer(new WrappingKeys([NEW, OLD]), store).rewrapDataKeys((id) => failures.push(id));
      expect(outcome).toEqual({ rewrapped: 1, unchanged: 0, failed: ['tok_stranger'] });
      expect(failures).toEqual(['tok_stranger']);
    } finally {
      await store.close();
    }
  });

  it('unseal tells a destroyed data key from a ciphertext that does not open', async () => {
    const store = new SqliteDataKeyStore(join(temp.path, 'keys.db'));
    try {
      const sealer = new SecretSealer(new WrappingKeys([NEW]), store);
      await sealer.createDataKey('cdk_a');
      const sealed = await sealer.seal('cdk_a', 'con_a', 'the secret');
      const body = Buffer.from(sealed.ciphertext.slice(3), 'base64url');
      body[0] ^= 1;
      expect(await sealer.unseal({ ...sealed, ciphertext: `v1.${body.toString('base64url')}` }, 'con_a')).toEqual({ status: 'corrupt' });
      expect(await sealer.unseal(sealed, 'con_other')).toEqual({ status: 'corrupt' });
      await sealer.destroyDataKey('cdk_a');
      expect(await sealer.unseal(sealed, 'con_a')).toEqual({ status: 'shredded' });
    } finally {
      await store.close();
    }
  });

  it("keeps each owner's keys in its own table of one file", async () => {
    const path = join(temp.path, 'keys.db');
    const tokens = new SqliteDataKeyStore(path);
    const connections = new SqliteDataKeyStore(path, { table: 'connection_data_keys' });
    try {
      await tokens.put('tok_a', randomBytes(60));
      await connections.put('cdk_a', randomBytes(60));
      expect((await tokens.list()).map((key) => key.id)).toEqual(['tok_a']);
      expect((await connections.list()).map((key) => key.id)).toEqual(['cdk_a']);
      expect(() => new SqliteDataKeyStore(path, { table: 'x; DROP TABLE data_keys' })).toThrow(/Not a data key table/);
    } finally {
      await Promise.all([tokens.close(), connections.close()]);
    }
  });
});
