export { EventStoreDbEventStore, type EventStoreDbLogger, type EventStoreDbOptions } from './eventstoredb-event-store';
export { EventStoreDbDataKeyStore } from './eventstoredb-data-keys';
