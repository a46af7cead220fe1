export { EventStoreDbEventStore, type EventStoreDbLogger, type EventStoreDbOptions } from './eventstoredb-event-store';
