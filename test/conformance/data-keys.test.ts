import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DataKeyExistsError, SqliteDataKeyStore } from '../../src/crypto/data-keys';
import { EventStoreDbEventStore } from '../../src/eventstore/eventstoredb';
import { EsdbDouble } from '../helpers/esdb-double';
import { makeTempDir } from '../helpers/temp-dir';
import { describeDataKeyStoreConformance } from './data-key-store-conformance';

describeDataKeyStoreConformance('sqlite (keys.db)', () => {
  let temp: { path: string; remove(): void } | undefined;
  return {
    async open(table) {
      temp ??= makeTempDir('data-keys');
      return new SqliteDataKeyStore(join(temp.path, 'keys.db'), { table });
    },
    async cleanup() {
      temp?.remove();
      temp = undefined;
    },
  };
});

describeDataKeyStoreConformance('eventstoredb on the in-memory EventStoreDB double', () => {
  let double: EsdbDouble | undefined;
  const stores: EventStoreDbEventStore[] = [];
  return {
    async open(table) {
      double ??= await EsdbDouble.start();
      // A store (client) per data key store, as on separate replicas.
      const store = EventStoreDbEventStore.connect(double.connectionString);
      stores.push(store);
      return store.dataKeys(table);
    },
    async cleanup() {
      await Promise.all(stores.splice(0).map((store) => store.close()));
      await double?.close();
      double = undefined;
    },
  };
});

describe('EventStoreDbDataKeyStore on the double: what EventStoreDB itself holds', () => {
  let double: EsdbDouble;
  let store: EventStoreDbEventStore;

  beforeEach(async () => {
    double = await EsdbDouble.start();
    store = EventStoreDbEventStore.connect(double.connectionString);
  });
  afterEach(async () => {
    await store.close();
    await double.close();
  });

  it('tombstones a destroyed key: reads say deleted, the id stays taken, and a scavenge drops its bytes', async () => {
    const keys = store.dataKeys('connection_data_keys');
    const wrapped = randomBytes(60);
    await keys.put('cdk_a', wrapped);
    await keys.destroy('cdk_a');
    expect(double.streamView('datakey-connection_data_keys-cdk_a')).toBe('deleted');
    await expect(keys.put('cdk_a', randomBytes(60))).rejects.toBeInstanceOf(DataKeyExistsError);
    const holds = () => double.events().some((event) => Buffer.from(event.data).toString('utf8').includes(wrapped.toString('base64')));
    expect(holds()).toBe(true);
    double.scavenge();
    expect(holds()).toBe(false);
  });

  it('keeps only the newest wrapping of a re-wrapped key readable ($maxCount: 1)', async () => {
    const keys = store.dataKeys();
    const original = randomBytes(60);
    const rewrapped = randomBytes(60);
    await keys.put('tok_a', original);
    expect(await keys.replaceWrapping('tok_a', original, rewrapped)).toBe(true);
    const view = double.streamView('datakey-data_keys-tok_a');
    expect(Array.isArray(view) && view.map((event) => event.type)).toEqual(['DataKeyRewrapped']);
    double.scavenge();
    expect(double.events().some((event) => Buffer.from(event.data).toString('utf8').includes(original.toString('base64')))).toBe(false);
    expect(await keys.get('tok_a')).toEqual(rewrapped);
  });

  it('keeps data key streams out of the log that subscribers and the head position see', async () => {
    await store.append('tokens-1', [{ id: randomUUID(), type: 'TokenIssued', data: {}, metadata: {} as never }], 'no_stream');
    const head = await store.headPosition();
    await store.dataKeys().put('tok_a', randomBytes(60));
    expect(await store.headPosition()).toBe(head);
    const subscription = store.subscribe();
    const seen: string[] = [];
    for await (const message of subscription) {
      if (message.type === 'caughtUp') break;
      if (message.type === 'events') seen.push(...message.events.map((event) => event.streamId));
    }
    await subscription.close();
    expect(seen).toEqual(['tokens-1']);
  });
});
