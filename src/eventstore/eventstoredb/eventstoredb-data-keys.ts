import { ANY, BACKWARDS, END, FORWARDS, NO_STREAM, START, jsonEvent, type EventStoreDBClient, type JSONEventType } from '@eventstore/db-client';
import { DataKeyExistsError, dataKeyTableName, type DataKeyStore, type StoredDataKey } from '../../crypto/data-keys';
import { EventStoreUnavailableError } from '../port';
import { collect, withinDeadline } from './deadlines';
import { DATA_KEY_STREAM_PREFIX, isStreamDeleted, isStreamNotFound, isWrongExpectedVersion, translateError } from './mapping';

type DataKeyEvent = JSONEventType<'DataKeyStored' | 'DataKeyRewrapped', { wrappedKey: string; createdAt: string }>;
type RegistryEvent = JSONEventType<'DataKeyRegistered', { id: string; createdAt: string }>;

/** Reads in flight at once while `list` checks which registered keys still exist. */
const LIST_CONCURRENCY = 16;
const MAX_STREAM_ID_LENGTH = 512;

interface LatestWrapping {
  revision: bigint;
  wrappedKey: Buffer;
  createdAt: Date;
}

/**
 * Data keys on EventStoreDB, so that every gateway replica sharing the log also shares the
 * keys that open its sealed secrets.
 *
 * - One stream per key, `datakey-<table>-<id>`: `put` creates it (expected revision
 *   `no_stream`, so a taken id is refused by the server, not by a racy check).
 * - `destroy` tombstones the stream (a hard delete: it can never be written again, and reads
 *   say it is deleted at once). The bytes leave the server's disk only when a scavenge
 *   rewrites the chunk that holds them, so on EventStoreDB crypto-shredding completes at the
 *   next scavenge: operators schedule scavenges (see docs/connections.md).
 * - `replaceWrapping` appends the new wrapping at the revision it read (compare-and-swap by
 *   expected revision) after setting `$maxCount: 1`, so the previous wrapping becomes
 *   unreadable at once and is scavenged too.
 * - `list` reads a registry stream per table, `datakey-<table>`, where every id is recorded
 *   before its key stream is created, then reads each key stream to drop the destroyed ones.
 *   A plain `$all` read cannot be filtered by this client, so scanning the log would move all
 *   of it over the wire; the registry costs one small event per key ever created.
 *
 * The `datakey-` streams are hidden from log subscribers (see `isSystemEvent`). The client is
 * the event store's, which disposes of it.
 */
export class EventStoreDbDataKeyStore implements DataKeyStore {
  private readonly table: string;

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly options: { table?: string; deadlineMs: number; isClosed: () => boolean },
  ) {
    this.table = dataKeyTableName(options.table);
  }

  async put(id: string, wrappedKey: Buffer): Promise<void> {
    const stream = this.streamOf(id);
    const createdAt = new Date().toISOString();
    const operation = `put of data key ${id}`;
    this.assertOpen(operation);
    try {
      // Registered first: an id whose key stream was never written is skipped by `list`,
      // whereas a key missing from the registry would escape re-wrapping and sweeps.
      await this.append(operation, this.registryStream, jsonEvent<RegistryEvent>({ type: 'DataKeyRegistered', data: { id, createdAt } }), ANY);
      await this.append(
        operation,
        stream,
        jsonEvent<DataKeyEvent>({ type: 'DataKeyStored', data: { wrappedKey: wrappedKey.toString('base64'), createdAt } }),
        NO_STREAM,
      );
    } catch (error) {
      // A tombstoned stream can never be created again: its id stays taken.
      if (isWrongExpectedVersion(error) || isStreamDeleted(error)) throw new DataKeyExistsError(id);
      throw translateError(operation, error);
    }
  }

  async get(id: string): Promise<Buffer | null> {
    return (await this.latest(id))?.wrappedKey ?? null;
  }

  async destroy(id: string): Promise<void> {
    const operation = `destroy of data key ${id}`;
    this.assertOpen(operation);
    try {
      await withinDeadline(
        operation,
        this.client.tombstoneStream(this.streamOf(id), { expectedRevision: ANY, deadline: this.options.deadlineMs }),
        this.options.deadlineMs,
      );
    } catch (error) {
      if (isStreamDeleted(error)) return;
      throw translateError(operation, error);
    }
  }

  async replaceWrapping(id: string, expected: Buffer, wrappedKey: Buffer): Promise<boolean> {
    const current = await this.latest(id);
    if (!current || !current.wrappedKey.equals(expected)) return false;
    const stream = this.streamOf(id);
    const operation = `re-wrap of data key ${id}`;
    try {
      // Set before the append, so that whichever wrapping is newest is the only one kept.
      await withinDeadline(
        operation,
        this.client.setStreamMetadata(stream, { maxCount: 1 }, { deadline: this.options.deadlineMs }),
        this.options.deadlineMs,
      );
      await this.append(
        operation,
        stream,
        jsonEvent<DataKeyEvent>({
          type: 'DataKeyRewrapped',
          data: { wrappedKey: wrappedKey.toString('base64'), createdAt: current.createdAt.toISOString() },
        }),
        current.revision,
      );
      return true;
    } catch (error) {
      if (isWrongExpectedVersion(error) || isStreamDeleted(error)) return false;
      throw translateError(operation, error);
    }
  }

  async list(): Promise<StoredDataKey[]> {
    const operation = `list of the data keys in ${this.table}`;
    const registered = new Map<string, Date>();
    for (const { id, createdAt } of await this.readRegistry(operation)) {
      if (!registered.has(id)) registered.set(id, createdAt);
    }
    const ids = [...registered.keys()];
    const found: Array<StoredDataKey | null> = new Array(ids.length).fill(null);
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const index = next++;
        const latest = await this.latest(ids[index]);
        if (latest) found[index] = { id: ids[index], createdAt: latest.createdAt };
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, ids.length) }, worker));
    return found
      .filter((key): key is StoredDataKey => key !== null)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** The client belongs to the event store, which disposes of it when it closes. */
  async close(): Promise<void> {}

  private get registryStream(): string {
    return `${DATA_KEY_STREAM_PREFIX}${this.table}`;
  }

  private streamOf(id: string): string {
    const stream = `${DATA_KEY_STREAM_PREFIX}${this.table}-${id}`;
    if (typeof id !== 'string' || id.length === 0 || stream.length > MAX_STREAM_ID_LENGTH) throw new RangeError(`Not a data key id: ${JSON.stringify(id)}`);
    return stream;
  }

  private assertOpen(operation: string): void {
    if (this.options.isClosed()) throw new EventStoreUnavailableError(`The EventStoreDB event store is closed (${operation})`);
  }

  private async append(operation: string, stream: string, event: ReturnType<typeof jsonEvent>, expectedRevision: typeof ANY | typeof NO_STREAM | bigint) {
    return withinDeadline(
      operation,
      this.client.appendToStream(stream, event, { expectedRevision, deadline: this.options.deadlineMs }),
      this.options.deadlineMs,
    );
  }

  private async latest(id: string): Promise<LatestWrapping | null> {
    const stream = this.streamOf(id);
    const operation = `read of data key ${id}`;
    this.assertOpen(operation);
    try {
      const [resolved] = await collect(
        operation,
        this.client.readStream<DataKeyEvent>(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 }),
        this.options.deadlineMs,
      );
      const event = resolved?.event;
      if (!event || (event.type !== 'DataKeyStored' && event.type !== 'DataKeyRewrapped')) return null;
      return { revision: event.revision, wrappedKey: Buffer.from(event.data.wrappedKey, 'base64'), createdAt: new Date(event.data.createdAt) };
    } catch (error) {
      if (isStreamNotFound(error) || isStreamDeleted(error)) return null;
      throw translateError(operation, error);
    }
  }

  private async readRegistry(operation: string): Promise<Array<{ id: string; createdAt: Date }>> {
    this.assertOpen(operation);
    try {
      const resolved = await collect(
        operation,
        this.client.readStream<RegistryEvent>(this.registryStream, { direction: FORWARDS, fromRevision: START }),
        this.options.deadlineMs,
      );
      return resolved.flatMap(({ event }) =>
        event?.type === 'DataKeyRegistered' ? [{ id: event.data.id, createdAt: new Date(event.data.createdAt) }] : [],
      );
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw translateError(operation, error);
    }
  }
}
