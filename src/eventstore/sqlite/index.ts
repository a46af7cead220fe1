export {
  MAX_STREAM_ID_LENGTH,
  SQLITE_EVENT_STORE_SCHEMA_VERSION,
  SqliteEventStore,
  SqliteLogReader,
  type SqliteEventStoreOptions,
} from './sqlite-event-store';
