import { randomBytes } from 'node:crypto';
import { DataKeyExistsError, type DataKeyStore } from '../../src/crypto/data-keys';
import { SecretSealer } from '../../src/crypto/envelope';
import { WrappingKeys } from '../../src/crypto/wrapping-keys';

export interface DataKeyStoreTarget {
  /** A store for the owner `table`; several opened in one test share their backing storage. */
  open(table?: string): Promise<DataKeyStore>;
  /** Releases what `open` created, after every store of the test is closed. */
  cleanup(): Promise<void>;
}

/** The `DataKeyStore` contract, run against every implementation so that they stay interchangeable. */
export function describeDataKeyStoreConformance(name: string, target: () => DataKeyStoreTarget): void {
  describe(`DataKeyStore conformance: ${name}`, () => {
    let current: DataKeyStoreTarget;
    const opened: DataKeyStore[] = [];
    const open = async (table?: string) => {
      const store = await current.open(table);
      opened.push(store);
      return store;
    };

    beforeEach(() => {
      current = target();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
      await current.cleanup();
    });

    it('puts, gets and lists keys', async () => {
      const store = await open();
      const a = randomBytes(60);
      const b = randomBytes(60);
      await store.put('tok_a', a);
      await store.put('tok_b', b);
      expect(await store.get('tok_a')).toEqual(a);
      expect(await store.get('tok_b')).toEqual(b);
      expect(await store.get('tok_missing')).toBeNull();
      const listed = await store.list();
      expect(listed.map((key) => key.id).sort()).toEqual(['tok_a', 'tok_b']);
      for (const key of listed) expect(Math.abs(key.createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    });

    it('refuses a taken id and keeps the first key', async () => {
      const store = await open();
      const first = randomBytes(60);
      await store.put('tok_a', first);
      await expect(store.put('tok_a', randomBytes(60))).rejects.toBeInstanceOf(DataKeyExistsError);
      expect(await store.get('tok_a')).toEqual(first);
      expect((await store.list()).map((key) => key.id)).toEqual(['tok_a']);
    });

    it('destroys a key for good; destroying it again, or a key that never existed, is fine', async () => {
      const store = await open();
      await store.put('tok_a', randomBytes(60));
      await store.put('tok_b', randomBytes(60));
      await store.destroy('tok_a');
      await store.destroy('tok_a');
      await store.destroy('tok_never');
      expect(await store.get('tok_a')).toBeNull();
      expect(await store.get('tok_never')).toBeNull();
      expect((await store.list()).map((key) => key.id)).toEqual(['tok_b']);
      expect(await store.replaceWrapping('tok_a', randomBytes(60), randomBytes(60))).toBe(false);
    });

    it('re-wraps a key only while it still holds the expected wrapping', async () => {
      const store = await open();
      const original = randomBytes(60);
      const rewrapped = randomBytes(60);
      await store.put('tok_a', original);
      expect(await store.replaceWrapping('tok_a', original, rewrapped)).toBe(true);
      expect(await store.get('tok_a')).toEqual(rewrapped);
      expect(await store.replaceWrapping('tok_a', original, randomBytes(60))).toBe(false);
      expect(await store.get('tok_a')).toEqual(rewrapped);
      expect(await store.replaceWrapping('tok_missing', original, rewrapped)).toBe(false);
      expect((await store.list()).map((key) => key.id)).toEqual(['tok_a']);
      await store.destroy('tok_a');
      expect(await store.get('tok_a')).toBeNull();
    });

    it('re-wraps every key under a new master key with the sealer, and they still open', async () => {
      const store = await open();
      const oldKey = randomBytes(32);
      const newKey = randomBytes(32);
      const before = new SecretSealer(oldKey, store);
      await before.createDataKey('tok_a');
      const sealed = await before.seal('tok_a', 'record-1', 'the secret');
      const rotation = new SecretSealer(new WrappingKeys([newKey, oldKey]), store);
      expect(await rotation.rewrapDataKeys()).toEqual({ rewrapped: 1, unchanged: 0, failed: [] });
      expect(await rotation.rewrapDataKeys()).toEqual({ rewrapped: 0, unchanged: 1, failed: [] });
      expect(await new SecretSealer(newKey, store).open(sealed, 'record-1')).toBe('the secret');
      // Only the new master key opens it now.
      await expect(before.open(sealed, 'record-1')).rejects.toThrow();
    });

    it('is shared by every store opened on the same storage', async () => {
      const one = await open();
      const two = await open();
      const wrapped = randomBytes(60);
      await one.put('tok_a', wrapped);
      expect(await two.get('tok_a')).toEqual(wrapped);
      await two.destroy('tok_a');
      expect(await one.get('tok_a')).toBeNull();
    });

    it('keeps owners (tables) apart', async () => {
      const tokens = await open('data_keys');
      const connections = await open('connection_data_keys');
      await tokens.put('same_id', randomBytes(60));
      await connections.put('same_id', randomBytes(60));
      await connections.put('cdk_only', randomBytes(60));
      expect((await tokens.list()).map((key) => key.id)).toEqual(['same_id']);
      await tokens.destroy('same_id');
      expect(await connections.get('same_id')).not.toBeNull();
      expect((await connections.list()).map((key) => key.id).sort()).toEqual(['cdk_only', 'same_id']);
    });
  });
}
