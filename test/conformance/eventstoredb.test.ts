import { randomUUID } from 'node:crypto';
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
  type SubscriptionMessage,
} from '../../src/eventstore/port';
import { EventStoreDbEventStore } from '../../src/eventstore/eventstoredb';
import { EsdbDouble } from '../helpers/esdb-double';
import { describeEventStoreConformance, type ConformanceTarget } from './eventstore-conformance';

/**
 * Conformance cases whose contract EventStoreDB cannot provide. They are reported as skipped,
 * with the reason in the title, rather than dropped silently.
 */
const NOT_PROVIDED_BY_EVENTSTOREDB = new Map<string, string>([
  [
    'rejects an event id already in the log, writing none of the batch',
    'EventStoreDB compares event ids only with the stream being written (to recognise retries) and keeps no index of ids across streams',
  ],
]);

function describeConformance(adapterName: string, target: () => ConformanceTarget): void {
  const original = globalThis.it;
  globalThis.it = Object.assign((title: string, fn?: jest.ProvidesCallback, timeout?: number) => {
    const reason = NOT_PROVIDED_BY_EVENTSTOREDB.get(title);
    return reason ? original.skip(`${title} (skipped: ${reason})`, fn, timeout) : original(title, fn, timeout);
  }, original);
  try {
    describeEventStoreConformance(adapterName, target);
  } finally {
    globalThis.it = original;
  }
}

describeConformance('eventstoredb on the in-memory EventStoreDB double', () => {
  let double: EsdbDouble | undefined;
  return {
    async open() {
      double = await EsdbDouble.start();
      return EventStoreDbEventStore.connect(double.connectionString);
    },
    async openPeer() {
      if (!double) throw new Error('openPeer() before open()');
      return EventStoreDbEventStore.connect(double.connectionString);
    },
    async cleanup() {
      await double?.close();
      double = undefined;
    },
  };
});

const liveConnectionString = process.env.EVENTSTORE_CONNECTION_STRING;
if (liveConnectionString) {
  describeConformance('eventstoredb on the live server in EVENTSTORE_CONNECTION_STRING', () => liveTarget(liveConnectionString));
} else {
  // Declared and skipped, so the run reports how many cases did not run and why.
  describe.skip('EventStore conformance: eventstoredb on a live server (skipped: EVENTSTORE_CONNECTION_STRING is not set)', () => {
    describeConformance('eventstoredb on the live server in EVENTSTORE_CONNECTION_STRING', () => {
      throw new Error('EVENTSTORE_CONNECTION_STRING is not set');
    });
  });
}

/**
 * A live server is shared and never empty, while the suite expects a fresh store for every
 * test. Each test therefore sees its own slice of the log: the streams it wrote, and only
 * positions after the server's head when the test began.
 */
function liveTarget(connectionString: string): ConformanceTarget {
  let scope: TestScope | undefined;
  return {
    async open() {
      const store = EventStoreDbEventStore.connect(connectionString);
      scope = new TestScope(await store.headPosition());
      return new ScopedStore(store, scope);
    },
    async openPeer() {
      if (!scope) throw new Error('openPeer() before open()');
      return new ScopedStore(EventStoreDbEventStore.connect(connectionString), scope);
    },
    async cleanup() {
      scope = undefined;
    },
  };
}

const UUID_IN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

class TestScope {
  /** Stream ids on the server that belong to this test. */
  readonly streams = new Set<string>();
  private readonly toServer = new Map<string, string>();
  private readonly fromServer = new Map<string, string>();

  constructor(readonly baseline: bigint | null) {}

  /**
   * The suite names streams with a UUID, except where it needs an exact length; those get the
   * same length with a UUID at the end, so a second run on the same server starts clean too.
   */
  serverStreamId(streamId: string): string {
    let mapped = this.toServer.get(streamId);
    if (mapped === undefined) {
      const unique = UUID_IN.test(streamId) || streamId.length < 36 ? streamId : streamId.slice(0, -36) + randomUUID();
      mapped = unique;
      this.toServer.set(streamId, mapped);
      this.fromServer.set(mapped, streamId);
    }
    return mapped;
  }

  owns(event: RecordedEvent): boolean {
    return this.streams.has(event.streamId);
  }

  toTest(event: RecordedEvent): RecordedEvent {
    return { ...event, streamId: this.fromServer.get(event.streamId) ?? event.streamId };
  }
}

class ScopedStore implements EventStore {
  readonly name: string;

  constructor(
    private readonly store: EventStore,
    private readonly scope: TestScope,
  ) {
    this.name = store.name;
  }

  async append(streamId: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult> {
    const serverId = this.scope.serverStreamId(streamId);
    // In scope before the append, since a subscription may see the event before the append returns.
    const added = !this.scope.streams.has(serverId);
    this.scope.streams.add(serverId);
    try {
      return await this.store.append(serverId, events, expectedRevision);
    } catch (error) {
      if (added && error instanceof RangeError) this.scope.streams.delete(serverId);
      if (error instanceof WrongExpectedRevisionError) throw new WrongExpectedRevisionError(streamId, error.expected, error.actual);
      throw error;
    }
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    const events = await this.store.readStream(this.scope.serverStreamId(streamId), options);
    return events.map((event) => this.scope.toTest(event));
  }

  subscribe(options: SubscribeOptions = {}): EventSubscription {
    const from = options.fromPosition ?? null;
    const inner = this.store.subscribe({ ...options, fromPosition: from ?? this.scope.baseline });
    const scope = this.scope;
    let last: bigint | null = from;
    return {
      close: () => inner.close(),
      [Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
        const iterator = inner[Symbol.asyncIterator]();
        return {
          async next(): Promise<IteratorResult<SubscriptionMessage>> {
            for (;;) {
              const result = await iterator.next();
              if (result.done) return result;
              const message = result.value;
              if (message.type === 'caughtUp') return { done: false, value: { type: 'caughtUp', position: last } };
              if (message.type !== 'events') return result;
              const events = message.events.filter((event) => scope.owns(event)).map((event) => scope.toTest(event));
              if (events.length === 0) continue;
              last = events[events.length - 1].position;
              return { done: false, value: { type: 'events', events } };
            }
          },
          async return(): Promise<IteratorResult<SubscriptionMessage>> {
            await inner.close();
            return { done: true, value: undefined };
          },
        };
      },
    };
  }

  async headPosition(): Promise<bigint | null> {
    let head: bigint | null = null;
    for (const streamId of this.scope.streams) {
      const last = (await this.store.readStream(streamId)).at(-1);
      if (last && (head === null || last.position > head)) head = last.position;
    }
    return head;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function event(type = 'TestEvent', data: Record<string, unknown> = {}): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { actor: { type: 'system', id: 'esdb-test', tenantId: null }, requestId: randomUUID(), occurredAt: new Date(0).toISOString() },
  };
}

/** Everything up to the first `caughtUp` after `count` events have arrived. */
async function readUntil(subscription: EventSubscription, count: number, onBatch?: () => Promise<void>): Promise<SubscriptionMessage[]> {
  const messages: SubscriptionMessage[] = [];
  let events = 0;
  for await (const message of subscription) {
    messages.push(message);
    if (message.type === 'events') {
      events += message.events.length;
      await onBatch?.();
    }
    if (events >= count && messages.some((m) => m.type === 'caughtUp')) break;
  }
  return messages;
}

const eventsIn = (messages: SubscriptionMessage[]) => messages.flatMap((m) => (m.type === 'events' ? m.events : []));

describe('EventStoreDbEventStore on the EventStoreDB double: what the conformance suite cannot see', () => {
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

  test.each([
    ['without a type filter', undefined],
    ['with a type filter', ['TokenIssued', 'TokenRevoked']],
  ])("never delivers the server's own events, in catch-up or live, whatever their type (%s)", async (_title, eventTypes) => {
    const stream = `token-${randomUUID()}`;
    await store.append(stream, [event('TokenIssued')], 'no_stream');
    double.appendSystemEvent();
    double.appendSystemEvent('$ce-token', 'TokenIssued');
    await store.append(stream, [event('TokenIssued')], 0);

    const subscription = store.subscribe({ eventTypes });
    const arrived = readUntil(subscription, 3);
    double.appendSystemEvent('$projections-$all', '$ProjectionUpdated');
    double.appendSystemEvent('$ce-token', 'TokenIssued');
    // Delivery is in log order, so once this arrives anything appended before it has been seen.
    await store.append(stream, [event('TokenRevoked')], 1);
    const messages = await arrived;
    expect(eventsIn(messages).map((e) => [e.streamId, e.type])).toEqual([
      [stream, 'TokenIssued'],
      [stream, 'TokenIssued'],
      [stream, 'TokenRevoked'],
    ]);
  });

  test("headPosition looks past the server's own events, across pages", async () => {
    const written = await store.append(`s-${randomUUID()}`, [event()], 'no_stream');
    for (let i = 0; i < 150; i++) double.appendSystemEvent();
    expect(await store.headPosition()).toBe(written.position);
  });

  test('an event-type filter matches whole type names, not prefixes or patterns', async () => {
    const stream = `s-${randomUUID()}`;
    await store.append(stream, [event('Token.Issued'), event('TokenXIssued'), event('Token.IssuedV2'), event('Token.Issued')], 'no_stream');
    const subscription = store.subscribe({ eventTypes: ['Token.Issued'] });
    const messages = await readUntil(subscription, 2);
    await subscription.close();
    expect(eventsIn(messages).map((e) => e.revision)).toEqual([0, 3]);
  });

  test('a slow consumer of a long catch-up gets every event once, in order, in bounded batches', async () => {
    const stream = `s-${randomUUID()}`;
    const total = 1_500;
    for (let start = 0; start < total; start += 250) {
      await store.append(stream, Array.from({ length: 250 }, (_, i) => event('Bulk', { n: start + i })), start === 0 ? 'no_stream' : start - 1);
    }
    const subscription = store.subscribe({ maxBatchSize: 7 });
    const messages = await readUntil(subscription, total, () => new Promise((resolve) => setImmediate(resolve)));
    await subscription.close();
    const events = eventsIn(messages);
    expect(events.map((e) => e.data.n)).toEqual(Array.from({ length: total }, (_, i) => i));
    for (const message of messages) if (message.type === 'events') expect(message.events.length).toBeLessThanOrEqual(7);
  });

  test('an append reports the position the subscription later delivers', async () => {
    const subscription = store.subscribe();
    const stream = `s-${randomUUID()}`;
    const result = await store.append(stream, [event(), event()], 'no_stream');
    const messages = await readUntil(subscription, 2);
    await subscription.close();
    expect(eventsIn(messages).at(-1)?.position).toBe(result.position);
  });

  test('rejects ids the server cannot store before sending anything', async () => {
    const stream = `s-${randomUUID()}`;
    await expect(store.append(stream, [{ ...event(), id: 'not-a-uuid' }], 'any')).rejects.toBeInstanceOf(RangeError);
    await expect(store.append(stream, [event(), event()], -1)).rejects.toBeInstanceOf(RangeError);
    const twice = event();
    await expect(store.append(stream, [twice, twice], 'any')).rejects.toBeInstanceOf(EventStoreError);
    expect(await store.readStream(stream)).toEqual([]);
  });

  test('after close() every operation fails with EventStoreUnavailableError', async () => {
    await store.close();
    await expect(store.append('s', [event()], 'any')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readStream('s')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(() => store.subscribe()).toThrow(EventStoreUnavailableError);
  });

  test('connect() rejects a malformed connection string at once', () => {
    expect(() => EventStoreDbEventStore.connect('http://nope')).toThrow();
  });
});
