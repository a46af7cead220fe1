import { randomUUID } from 'node:crypto';
import {
  EventStoreError,
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type EventSubscription,
  type NewEvent,
  type RecordedEvent,
  type SubscriptionMessage,
} from '../../src/eventstore/port';
import { EventStoreDbEventStore, type EventStoreDbLogger } from '../../src/eventstore/eventstoredb';
import { EsdbDouble } from '../helpers/esdb-double';

function event(type: string, n: number): NewEvent {
  return {
    id: randomUUID(),
    type,
    data: { n },
    metadata: { actor: { type: 'system', id: 'faults-test', tenantId: null }, requestId: randomUUID(), occurredAt: new Date().toISOString() },
  };
}

function recordingLogger(): EventStoreDbLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (_obj, msg) => warnings.push(msg), info: (_obj, msg) => infos.push(msg) };
}

/** Reads a subscription message by message; only jest's timeout bounds the waits. */
function messagesOf(subscription: EventSubscription) {
  const iterator = subscription[Symbol.asyncIterator]();
  const next = async (): Promise<SubscriptionMessage> => {
    const result = await iterator.next();
    if (result.done) throw new Error('The subscription ended unexpectedly');
    return result.value;
  };
  return {
    next,
    /** Messages up to and including the first one the predicate accepts. */
    async until(done: (message: SubscriptionMessage, events: RecordedEvent[]) => boolean): Promise<SubscriptionMessage[]> {
      const seen: SubscriptionMessage[] = [];
      const events: RecordedEvent[] = [];
      for (;;) {
        const message = await next();
        seen.push(message);
        if (message.type === 'events') events.push(...message.events);
        if (done(message, events)) return seen;
      }
    },
  };
}

const eventsIn = (messages: SubscriptionMessage[]) => messages.flatMap((message) => (message.type === 'events' ? message.events : []));

describe('EventStoreDB adapter under faults (in-memory EventStoreDB double)', () => {
  let double: EsdbDouble;
  const stores: EventStoreDbEventStore[] = [];
  const connect = (logger?: EventStoreDbLogger) => {
    const store = EventStoreDbEventStore.connect(double.connectionString, { reconnect: { initialDelayMs: 20, maxDelayMs: 200 }, logger });
    stores.push(store);
    return store;
  };

  beforeEach(async () => {
    double = await EsdbDouble.start();
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
    await double.close();
  });

  test('a subscription survives the server stopping and coming back on the same port: nothing lost, nothing twice, in order', async () => {
    const logger = recordingLogger();
    const subscriber = connect(logger);
    const writer = connect();
    const stream = `faults-${randomUUID()}`;
    const sent = [event('Before', 1), event('Before', 2), event('Undelivered', 3), event('Undelivered', 4), event('AfterRestart', 5)];

    await writer.append(stream, sent.slice(0, 2), 'no_stream');
    const messages = messagesOf(subscriber.subscribe({ fromPosition: null }));
    const firstRun = await messages.until((message) => message.type === 'caughtUp');
    expect(eventsIn(firstRun).map((e) => e.id)).toEqual(sent.slice(0, 2).map((e) => e.id));

    // Acknowledged by the server but never pushed to the subscription before it dies.
    double.pauseLiveDelivery();
    await writer.append(stream, sent.slice(2, 4), 1);
    await double.stop();

    const outage = await messages.next();
    expect(outage).toMatchObject({ type: 'disconnected' });
    expect((outage as { error: Error }).error).toBeInstanceOf(EventStoreUnavailableError);

    await double.restart();
    double.resumeLiveDelivery();
    await writer.append(stream, sent.slice(4), 3);

    let caughtUpAgain = false;
    const afterRestart = await messages.until((message, events) => {
      caughtUpAgain ||= message.type === 'caughtUp';
      return caughtUpAgain && events.some((e) => e.id === sent[4].id);
    });
    const resumed = eventsIn(afterRestart);
    expect(resumed.map((e) => e.id)).toEqual(sent.slice(2).map((e) => e.id));
    expect(resumed.map((e) => e.revision)).toEqual([2, 3, 4]);
    const all = [...eventsIn(firstRun), ...resumed];
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    for (let i = 1; i < all.length; i++) expect(all[i].position).toBeGreaterThan(all[i - 1].position);
    expect(afterRestart.filter((message) => message.type === 'disconnected')).toEqual([]);
    expect(logger.warnings).toContain('EventStoreDB subscription dropped; reconnecting');
    expect(logger.infos).toContain('EventStoreDB subscription resumed');

  });

  test('a subscription resumes after the last delivered event even when the server replays it', async () => {
    await double.close();
    double = await EsdbDouble.start({ replayBoundaryEvent: true });
    const subscriber = connect();
    const stream = `faults-${randomUUID()}`;
    const first = await subscriber.append(stream, [event('One', 1), event('Two', 2)], 'no_stream');

    const messages = messagesOf(subscriber.subscribe({ fromPosition: first.position }));
    await double.stop();
    await double.restart();
    const second = await connect().append(stream, [event('Three', 3)], first.nextExpectedRevision);

    const seen = await messages.until((_message, events) => events.some((e) => e.position === second.position));
    expect(eventsIn(seen).map((e) => e.position)).toEqual([second.position]);
  });

  test('an append while the server is down rejects with EventStoreUnavailableError instead of hanging', async () => {
    const store = connect();
    const stream = `faults-${randomUUID()}`;
    await store.append(stream, [event('Up', 1)], 'no_stream');
    await double.stop();

    const failure = store.append(stream, [event('Down', 2)], 0);
    await expect(failure).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(failure).rejects.toThrow(/EventStoreDB/);
    await expect(store.readStream(stream)).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);

    await double.restart();
    const recovered = await store.append(stream, [event('UpAgain', 2)], 0);
    expect(recovered.nextExpectedRevision).toBe(1);
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['Up', 'UpAgain']);
  });

  test('a subscription opened while the server is down reports the outage, then catches up once it is back', async () => {
    const store = connect();
    const stream = `faults-${randomUUID()}`;
    const written = await store.append(stream, [event('Early', 1)], 'no_stream');
    await double.stop();

    const messages = messagesOf(store.subscribe());
    expect(await messages.next()).toMatchObject({ type: 'disconnected' });
    await double.restart();
    const seen = await messages.until((message) => message.type === 'caughtUp');
    expect(eventsIn(seen).map((e) => e.position)).toEqual([written.position]);
    expect(seen.at(-1)).toEqual({ type: 'caughtUp', position: written.position });
  });

  describe('wrong expected version', () => {
    test.each([
      ['no_stream on an existing stream', true, 'no_stream' as const, 1],
      ['a stale revision', true, 0, 1],
      ['a revision ahead of the stream', true, 5, 1],
      ['a revision on a missing stream', false, 0, 'no_stream' as const],
      ['stream_exists on a missing stream', false, 'stream_exists' as const, 'no_stream' as const],
    ])('%s surfaces as WrongExpectedRevisionError with the actual revision', async (_title, exists, expected, actual) => {
      const store = connect();
      const stream = `wev-${randomUUID()}`;
      if (exists) await store.append(stream, [event('A', 1), event('B', 2)], 'no_stream');

      const failure = store.append(stream, [event('C', 3)], expected);
      await expect(failure).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      await expect(failure).rejects.toBeInstanceOf(EventStoreError);
      await expect(failure).rejects.toMatchObject({ streamId: stream, expected, actual });
      expect(await store.readStream(stream)).toHaveLength(exists ? 2 : 0);
    });

    test('a retry of an acknowledged append (same ids, same expected revision) succeeds without writing twice', async () => {
      const store = connect();
      const stream = `wev-${randomUUID()}`;
      const batch = [event('A', 1), event('B', 2)];
      const first = await store.append(stream, batch, 'no_stream');
      const retry = await store.append(stream, batch, 'no_stream');
      expect(retry).toEqual(first);
      expect(await store.readStream(stream)).toHaveLength(2);
    });
  });
});
