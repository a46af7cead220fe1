import { join } from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { EventStoreDbEventStore } from './eventstoredb';
import type { EventStore } from './port';
import { SqliteEventStore } from './sqlite';

export * from './port';

/**
 * The configured event store: EventStoreDB when a connection string is set, otherwise the
 * embedded SQLite log in the data directory.
 */
export async function openEventStore(config: Config, logger: Logger): Promise<EventStore> {
  if (config.eventStoreConnectionString) {
    return EventStoreDbEventStore.connect(config.eventStoreConnectionString, { logger: logger.child({ component: 'eventstoredb' }) });
  }
  return SqliteEventStore.open(join(config.dataDir, 'events.db'), { synchronous: config.sqliteSynchronous });
}
