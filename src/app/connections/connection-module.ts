import { join } from 'node:path';
import type { ReadModelDatabase } from '../../../projections/database';
import { ConnectionQueries } from '../../../projections/connections';
import { SqliteDataKeyStore, type DataKeyStore } from '../../crypto/data-keys';
import { SecretSealer } from '../../crypto/envelope';
import { DataKeyLifecycle } from '../data-keys/data-key-lifecycle';
import type { KeyRing } from '../../crypto/keyring';
import type { EventStore } from '../../eventstore/port';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { ConnectionAccessRecorder, type AccessRecorderOptions } from './access-recorder';
import { ConnectionService } from './connection-service';

/** The data key table (partition) of connection API keys. */
export const CONNECTION_DATA_KEYS_TABLE = 'connection_data_keys';

export interface ConnectionModule {
  connections: ConnectionService;
  access: ConnectionAccessRecorder;
  /** Records pending uses and closes the data key store. Call before the event store closes. */
  close(): Promise<void>;
}

export interface ConnectionModuleOptions {
  dataDir: string;
  keys: KeyRing;
  store: EventStore;
  readModels: ReadModelDatabase;
  writer: EventWriter;
  clock: Clock;
  logger: Logger;
  access?: AccessRecorderOptions;
  /** Where the data keys of `table` live; `keys.db` in the data directory when not given. */
  openDataKeys?: (table: string) => DataKeyStore;
}

export function openConnectionModule(options: ConnectionModuleOptions): ConnectionModule {
  const dataKeys =
    options.openDataKeys?.(CONNECTION_DATA_KEYS_TABLE) ??
    new SqliteDataKeyStore(join(options.dataDir, 'keys.db'), { table: CONNECTION_DATA_KEYS_TABLE });
  const access = new ConnectionAccessRecorder(options.store, options.logger, options.access);
  access.start();
  const sealer = new SecretSealer(options.keys.dataKeyWrapping, dataKeys);
  const connections = new ConnectionService(options.writer, new ConnectionQueries(options.readModels), options.clock, {
    sealer,
    dataKeys: new DataKeyLifecycle(sealer, options.logger),
    access,
    logger: options.logger,
  });
  let closed: Promise<void> | null = null;
  return {
    connections,
    access,
    close() {
      closed ??= (async () => {
        await access.stop();
        await dataKeys.close();
      })();
      return closed;
    },
  };
}
