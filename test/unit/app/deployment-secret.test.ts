import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DeploymentSecretService } from '../../../src/app/deployment-keys/deployment-secret-service';
import { DEPLOYMENT_KEYS_STREAM } from '../../../src/domain/deployment-keys';
import { KeyRing } from '../../../src/crypto/keyring';
import { EventStoreDbEventStore } from '../../../src/eventstore/eventstoredb';
import type { EventStore } from '../../../src/eventstore/port';
import { SqliteEventStore } from '../../../src/eventstore/sqlite';
import { EsdbDouble } from '../../helpers/esdb-double';
import { makeTempDir } from '../../helpers/temp-dir';
import { TestClock } from '../../helpers/test-clock';

const clock = new TestClock();
const M1 = randomBytes(32);
const M2 = randomBytes(32);
const service = (store: EventStore, current: Buffer, previous: Buffer | null = null) => new DeploymentSecretService(store, { current, previous }, { clock });

describe.each([
  [
    'sqlite',
    async () => {
      const temp = makeTempDir('deployment-secret');
      const path = join(temp.path, 'events.db');
      const stores = [SqliteEventStore.open(path), SqliteEventStore.open(path), SqliteEventStore.open(path)];
      return { stores, close: async () => { for (const store of stores) await store.close(); temp.remove(); } };
    },
  ],
  [
    'eventstoredb double',
    async () => {
      const double = await EsdbDouble.start();
      const stores = [0, 1, 2].map(() => EventStoreDbEventStore.connect(double.connectionString));
      return { stores, close: async () => { for (const store of stores) await store.close(); await double.close(); } };
    },
  ],
])('deployment secret (%s)', (_adapter, open) => {
  let stores: EventStore[];
  let close: () => Promise<void>;
  beforeEach(async () => ({ stores, close } = await open()));
  afterEach(async () => close());

  it('processes starting at once on an empty log agree on one secret, recorded once', async () => {
    const secrets = await Promise.all(stores.map((store) => service(store, M1).load()));
    expect(secrets[0]).toHaveLength(32);
    for (const secret of secrets) expect(secret.equals(secrets[0])).toBe(true);
    const events = await stores[0].readStream(DEPLOYMENT_KEYS_STREAM);
    expect(events.map((event) => event.type)).toEqual(['DeploymentSecretGenerated']);
    expect(JSON.stringify(events[0].data)).not.toContain(secrets[0].toString('base64url'));
    expect(JSON.stringify(events[0].data)).not.toContain(secrets[0].toString('base64'));
  });

  it('a rotation re-wraps it under the new master key (an event); the pepper stays; the old key alone no longer opens the latest wrapping', async () => {
    const secret = await service(stores[0], M1).load();
    const pepper = new KeyRing({ current: M1, previous: null }, secret).lookupPepper;
    expect(await service(stores[1], M2, M1).rewrap()).toBe('rewrapped');
    expect(await service(stores[1], M2, M1).rewrap()).toBe('unchanged');
    const events = await stores[0].readStream(DEPLOYMENT_KEYS_STREAM);
    expect(events.map((event) => event.type)).toEqual(['DeploymentSecretGenerated', 'DeploymentSecretRewrapped']);
    const after = await service(stores[2], M2).load();
    expect(after.equals(secret)).toBe(true);
    expect(new KeyRing({ current: M2, previous: null }, after).lookupPepper.equals(pepper)).toBe(true);
    await expect(service(stores[2], M1).load()).rejects.toThrow(/neither KEYLEDGER_MASTER_KEY nor KEYLEDGER_PREVIOUS_MASTER_KEY/);
  });

  it('a wrong master key fails with a message naming the variables', async () => {
    await service(stores[0], M1).load();
    await expect(service(stores[1], randomBytes(32)).load()).rejects.toThrow(/Configure the master key this deployment was started with/);
  });
});
