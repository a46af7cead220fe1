import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  STREAM_EXISTS,
  jsonEvent,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type JSONType,
  type MetadataType,
  type Position,
  type StreamingRead,
} from '@eventstore/db-client';
import {
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type ReadStreamOptions,
  type RecordedEvent,
  type SubscribeOptions,
} from '../port';
import { isStreamNotFound, isSystemEvent, isWrongExpectedVersion, toRecordedEvent, translateError } from './mapping';
import { EventStoreDbSubscription } from './eventstoredb-subscription';
import { collect, withinDeadline } from './deadlines';
import { EventStoreDbDataKeyStore } from './eventstoredb-data-keys';
import type { DataKeyStore } from '../../crypto/data-keys';

export interface EventStoreDbLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface EventStoreDbOptions {
  /** Backoff between subscription reconnection attempts; doubles from the initial delay up to the maximum. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  logger?: EventStoreDbLogger;
  /**
   * How long a request may go without an answer before it fails with
   * `EventStoreUnavailableError`: the whole of an append, and the wait for each event of a read.
   */
  deadlineMs?: number;
}

const DEFAULT_DEADLINE_MS = 5_000;
const DEFAULT_INITIAL_RECONNECT_DELAY_MS = 100;
const DEFAULT_MAX_RECONNECT_DELAY_MS = 5_000;
/** Events read per page while looking backwards through `$all` for the newest non-system event. */
const HEAD_PAGE_SIZE = 64;

const silentLogger: EventStoreDbLogger = { warn() {}, info() {} };

/** The event store port on EventStoreDB, through `@eventstore/db-client`. */
export class EventStoreDbEventStore implements EventStore {
  readonly name = 'eventstoredb';

  private readonly subscriptions = new Set<EventStoreDbSubscription>();
  private readonly deadlineMs: number;
  private readonly logger: EventStoreDbLogger;
  private readonly reconnect: { initialDelayMs: number; maxDelayMs: number };
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly client: EventStoreDBClient,
    options: EventStoreDbOptions,
  ) {
    this.deadlineMs = positiveOr(options.deadlineMs, DEFAULT_DEADLINE_MS, 'deadlineMs');
    this.logger = options.logger ?? silentLogger;
    const initialDelayMs = positiveOr(options.reconnect?.initialDelayMs, DEFAULT_INITIAL_RECONNECT_DELAY_MS, 'reconnect.initialDelayMs');
    const maxDelayMs = Math.max(initialDelayMs, positiveOr(options.reconnect?.maxDelayMs, DEFAULT_MAX_RECONNECT_DELAY_MS, 'reconnect.maxDelayMs'));
    this.reconnect = { initialDelayMs, maxDelayMs };
  }

  /**
   * Create a store for an `esdb://` / `esdb+discover://` connection string. Connecting is lazy:
   * this does not wait for the server, so a gateway can start (and report itself not ready)
   * while EventStoreDB is still coming up. A malformed connection string throws here.
   */
  static connect(connectionString: string, options: EventStoreDbOptions = {}): EventStoreDbEventStore {
    return new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString), options);
  }

  async append(streamId: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const operation = `append to "${streamId}"`;
    this.assertOpen(operation);
    validateStreamId(streamId);
    const expected = toClientExpectedRevision(expectedRevision);
    const proposed = toProposedEvents(streamId, events);
    try {
      const result = await this.withinDeadline(
        operation,
        this.client.appendToStream(streamId, proposed, { expectedRevision: expected, deadline: this.deadlineMs }),
      );
      if (!result.position) throw new EventStoreUnavailableError(`EventStoreDB did not report the position of ${operation}`);
      return { nextExpectedRevision: Number(result.nextExpectedRevision), position: result.position.commit };
    } catch (error) {
      if (isWrongExpectedVersion(error)) {
        const actual = error.actualVersion;
        throw new WrongExpectedRevisionError(
          streamId,
          expectedRevision,
          typeof actual === 'bigint' ? Number(actual) : actual === 'no_stream' ? 'no_stream' : undefined,
        );
      }
      throw translateError(operation, error);
    }
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { fromRevision = 0, maxCount } = options;
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) throw new RangeError(`fromRevision must be a non-negative integer, got ${fromRevision}`);
    if (maxCount !== undefined && (!Number.isSafeInteger(maxCount) || maxCount < 0)) throw new RangeError(`maxCount must be a non-negative integer, got ${maxCount}`);
    const operation = `read of "${streamId}"`;
    this.assertOpen(operation);
    validateStreamId(streamId);
    if (maxCount === 0) return [];
    try {
      const resolved = await this.collect(
        operation,
        this.client.readStream(streamId, {
          fromRevision: BigInt(fromRevision),
          direction: FORWARDS,
          ...(maxCount === undefined ? {} : { maxCount }),
        }),
      );
      return resolved.flatMap(({ event }) => (event ? [toRecordedEvent(event)] : []));
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw translateError(operation, error);
    }
  }

  subscribe(options: SubscribeOptions = {}): EventSubscription {
    this.assertOpen('subscribe');
    const subscription = new EventStoreDbSubscription(this.client, options, {
      reconnect: this.reconnect,
      logger: this.logger,
      onClose: (closed) => this.subscriptions.delete(closed),
    });
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * `$all` also holds the server's own events, and the client cannot filter a plain `$all`
   * read, so this pages backwards until it meets a keyledger (non-system) event.
   */
  async headPosition(): Promise<bigint | null> {
    const operation = 'read of the head of $all';
    this.assertOpen(operation);
    try {
      let from: Position | typeof END = END;
      for (;;) {
        const page: AllStreamResolvedEvent[] = await this.collect(
          operation,
          this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: HEAD_PAGE_SIZE }),
        );
        for (const { event } of page) {
          if (event && !isSystemEvent(event)) return event.position.commit;
        }
        const oldest: Position | undefined = page.at(-1)?.event?.position;
        if (page.length < HEAD_PAGE_SIZE || !oldest || (from !== END && oldest.commit >= from.commit)) return null;
        from = oldest;
      }
    } catch (error) {
      throw translateError(operation, error);
    }
  }

  /** A data key store on this store's connection, for the owner `table` (see `EventStoreDbDataKeyStore`). */
  dataKeys(table?: string): DataKeyStore {
    return new EventStoreDbDataKeyStore(this.client, { table, deadlineMs: this.deadlineMs, isClosed: () => this.closing !== null });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
      await this.client.dispose();
    })();
    return this.closing;
  }

  private assertOpen(operation: string): void {
    if (this.closing) throw new EventStoreUnavailableError(`The EventStoreDB event store is closed (${operation})`);
  }

  private withinDeadline<T>(operation: string, pending: Promise<T>): Promise<T> {
    return withinDeadline(operation, pending, this.deadlineMs);
  }

  private collect<T>(operation: string, read: StreamingRead<T>): Promise<T[]> {
    return collect(operation, read, this.deadlineMs);
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The stream id limit every keyledger adapter enforces, so data can move between them. */
const MAX_STREAM_ID_LENGTH = 512;

function validateStreamId(streamId: string): void {
  if (typeof streamId !== 'string' || streamId.length === 0 || streamId.length > MAX_STREAM_ID_LENGTH) {
    throw new RangeError(`Stream id must be a non-empty string of at most ${MAX_STREAM_ID_LENGTH} characters`);
  }
}

/** Checked here so bad input fails as bad input, not as a server refusal after a round trip. */
function toProposedEvents(streamId: string, events: readonly NewEvent[]) {
  if (!Array.isArray(events) || events.length === 0) throw new RangeError('append needs at least one event');
  const ids = new Set<string>();
  return events.map((event, index) => {
    if (typeof event.id !== 'string' || !UUID_PATTERN.test(event.id)) {
      throw new RangeError(`Event ${index} needs a UUID id (EventStoreDB stores ids as UUIDs), got ${JSON.stringify(event.id)}`);
    }
    // The server would store both, and a retry of the batch would no longer be recognisable.
    if (ids.has(event.id.toLowerCase())) throw new EventStoreError(`Duplicate event id in append to stream "${streamId}": ${event.id} (twice in the batch)`);
    ids.add(event.id.toLowerCase());
    if (typeof event.type !== 'string' || event.type.length === 0) throw new RangeError(`Event ${index} has no type`);
    if (typeof JSON.stringify(event.data) !== 'string' || typeof JSON.stringify(event.metadata) !== 'string') {
      throw new TypeError(`Event ${index} (${event.id}) has data or metadata that is not JSON-serialisable`);
    }
    return jsonEvent({
      id: event.id,
      type: event.type,
      data: event.data as JSONType,
      metadata: event.metadata as MetadataType,
    });
  });
}

function toClientExpectedRevision(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'any':
      return ANY;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) {
        throw new RangeError(`expectedRevision must be 'no_stream', 'stream_exists', 'any' or a non-negative integer, got ${String(expected)}`);
      }
      return BigInt(expected);
  }
}

function positiveOr(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds, got ${value}`);
  return value;
}
