/**
 * The behaviour every EventStore adapter must share. Adapter test files call
 * `describeEventStoreConformance` with a factory for their backing storage.
 */
import { randomUUID } from 'node:crypto';
import {
  EventStoreError,
  WrongExpectedRevisionError,
  formatPosition,
  parsePosition,
  type EventMetadata,
  type EventStore,
  type EventSubscription,
  type ExpectedRevision,
  type NewEvent,
  type RecordedEvent,
  type SubscriptionMessage,
} from '../../src/eventstore/port';

export interface ConformanceTarget {
  /** A fresh, empty store. */
  open(): Promise<EventStore>;
  /** A second, independent store instance on the SAME backing storage as the last `open()` (another connection/client), to prove cross-instance visibility. */
  openPeer(): Promise<EventStore>;
  /** Remove anything created (temp dirs), after stores are closed. */
  cleanup(): Promise<void>;
}

/* Generous on purpose: the suite checks that live events arrive, not how fast. */
const ARRIVAL_TIMEOUT_MS = 10_000;

function metadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return {
    actor: { type: 'user', id: 'user-1', tenantId: 'tenant-1' },
    requestId: randomUUID(),
    occurredAt: '2025-01-02T03:04:05.678Z',
    ...overrides,
  };
}

function newEvent(type = 'TestEvent', data: Record<string, unknown> = {}, meta: EventMetadata = metadata()): NewEvent {
  return { id: randomUUID(), type, data, metadata: meta };
}

function newEvents(count: number, type = 'TestEvent'): NewEvent[] {
  return Array.from({ length: count }, (_, i) => newEvent(type, { i }));
}

function streamName(prefix = 'stream'): string {
  return `${prefix}-${randomUUID()}`;
}

/** Rejection reason of a promise that must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the operation to fail, but it succeeded');
}

async function expectWrongRevision(
  promise: Promise<unknown>,
  streamId: string,
  expected: ExpectedRevision,
  actual: number | 'no_stream',
): Promise<WrongExpectedRevisionError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(WrongExpectedRevisionError);
  expect(error).toBeInstanceOf(EventStoreError);
  expect(error).toBeInstanceOf(Error);
  const wrong = error as WrongExpectedRevisionError;
  expect(wrong.name).toBe('WrongExpectedRevisionError');
  expect(wrong.streamId).toBe(streamId);
  expect(wrong.expected).toEqual(expected);
  // The port lets an adapter that cannot tell leave `actual` undefined; one that reports it must be right.
  if (wrong.actual !== undefined) expect(wrong.actual).toEqual(actual);
  return wrong;
}

function assertStrictlyIncreasing(positions: readonly bigint[]): void {
  for (let i = 1; i < positions.length; i++) {
    if (!(positions[i]! > positions[i - 1]!)) {
      throw new Error(`Positions not strictly increasing at ${i}: ${positions.map(formatPosition).join(', ')}`);
    }
  }
}

/** Consumes a subscription in the background and records everything it delivers. */
class SubscriptionProbe {
  readonly messages: SubscriptionMessage[] = [];
  ended = false;
  error: unknown = undefined;
  readonly finished: Promise<void>;
  private listeners = new Set<() => void>();

  constructor(readonly subscription: EventSubscription) {
    this.finished = this.consume();
  }

  get events(): RecordedEvent[] {
    return this.messages.flatMap((m) => (m.type === 'events' ? m.events : []));
  }

  get ids(): string[] {
    return this.events.map((e) => e.id);
  }

  get caughtUpMessages(): Array<Extract<SubscriptionMessage, { type: 'caughtUp' }>> {
    return this.messages.filter((m): m is Extract<SubscriptionMessage, { type: 'caughtUp' }> => m.type === 'caughtUp');
  }

  /** Events delivered before the first `caughtUp`. */
  get catchUpEvents(): RecordedEvent[] {
    const index = this.messages.findIndex((m) => m.type === 'caughtUp');
    return this.messages.slice(0, index === -1 ? undefined : index).flatMap((m) => (m.type === 'events' ? m.events : []));
  }

  async waitFor(description: string, predicate: () => boolean, timeoutMs = ARRIVAL_TIMEOUT_MS): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          cleanup();
          resolve();
        } else if (this.ended) {
          cleanup();
          reject(new Error(`Subscription ended (error: ${String(this.error)}) while waiting for ${description}; got ${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out waiting for ${description}; got ${this.describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  waitForCaughtUp(): Promise<void> {
    return this.waitFor('caughtUp', () => this.caughtUpMessages.length > 0);
  }

  waitForIds(ids: readonly string[]): Promise<void> {
    return this.waitFor(`events ${ids.join(', ')}`, () => {
      const seen = new Set(this.ids);
      return ids.every((id) => seen.has(id));
    });
  }

  async waitForEnd(): Promise<void> {
    await this.waitFor('the subscription to end', () => this.ended);
  }

  describe(): string {
    return JSON.stringify(
      this.messages.map((m) =>
        m.type === 'events'
          ? { events: m.events.map((e) => `${formatPosition(e.position)}:${e.type}:${e.id}`) }
          : m.type === 'caughtUp'
            ? { caughtUp: m.position === null ? null : formatPosition(m.position) }
            : { disconnected: m.error.message },
      ),
    );
  }

  private async consume(): Promise<void> {
    try {
      for await (const message of this.subscription) {
        this.messages.push(message);
        this.notify();
      }
    } catch (error) {
      this.error = error;
    } finally {
      this.ended = true;
      this.notify();
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

export function describeEventStoreConformance(adapterName: string, target: () => ConformanceTarget): void {
  describe(`EventStore conformance: ${adapterName}`, () => {
    let storage: ConformanceTarget;
    let store: EventStore;
    let opened: EventStore[] = [];
    let probes: SubscriptionProbe[] = [];

    beforeEach(async () => {
      storage = target();
      store = await storage.open();
      opened = [store];
      probes = [];
    });

    afterEach(async () => {
      for (const probe of probes) await probe.subscription.close();
      for (const s of opened) await s.close();
      await storage.cleanup();
    });

    async function openPeer(): Promise<EventStore> {
      const peer = await storage.openPeer();
      opened.push(peer);
      return peer;
    }

    function probe(on: EventStore, options?: Parameters<EventStore['subscribe']>[0]): SubscriptionProbe {
      const p = new SubscriptionProbe(on.subscribe(options));
      probes.push(p);
      return p;
    }

    describe('append and readStream', () => {
      it('has a name', () => {
        expect(typeof store.name).toBe('string');
        expect(store.name.length).toBeGreaterThan(0);
      });

      it('round-trips ids, types, data, metadata, revisions, positions and recordedAt', async () => {
        const streamId = streamName('token');
        const events: NewEvent[] = [
          newEvent('TokenIssued', { name: 'ci', roles: ['a', 'b'], nested: { n: 1, f: 1.5, t: true, z: null } }),
          newEvent('TokenUpdated', { roles: [] }, metadata({ ip: '203.0.113.7', userAgent: 'curl/8', idempotencyKey: 'k-1' })),
          newEvent('TokenRevoked', { reason: 'leaked' }, metadata({ actor: { type: 'system', id: 'sweeper', tenantId: null } })),
        ];
        const before = Date.now();
        const result = await store.append(streamId, events, 'no_stream');
        const after = Date.now();

        const read = await store.readStream(streamId);
        expect(read).toHaveLength(3);
        read.forEach((recorded, i) => {
          expect(recorded.id).toBe(events[i]!.id);
          expect(recorded.type).toBe(events[i]!.type);
          expect(recorded.streamId).toBe(streamId);
          expect(recorded.revision).toBe(i);
          expect(recorded.data).toEqual(events[i]!.data);
          expect(recorded.metadata).toEqual(events[i]!.metadata);
          expect(typeof recorded.position).toBe('bigint');
          expect(recorded.recordedAt).toBeInstanceOf(Date);
          expect(Number.isNaN(recorded.recordedAt.getTime())).toBe(false);
          // Wide bounds: a remote store's clock may differ from ours, but not by a day.
          expect(recorded.recordedAt.getTime()).toBeGreaterThan(before - 86_400_000);
          expect(recorded.recordedAt.getTime()).toBeLessThan(after + 86_400_000);
        });
        assertStrictlyIncreasing(read.map((e) => e.position));
        expect(result.nextExpectedRevision).toBe(2);
        expect(typeof result.position).toBe('bigint');
        expect(result.position).toBe(read[2]!.position);
      });

      it('continues revisions and positions across appends and streams', async () => {
        const a = streamName('a');
        const b = streamName('b');
        const r1 = await store.append(a, newEvents(2), 'no_stream');
        const r2 = await store.append(b, newEvents(1), 'no_stream');
        const r3 = await store.append(a, newEvents(3), 1);
        expect(r1.nextExpectedRevision).toBe(1);
        expect(r2.nextExpectedRevision).toBe(0);
        expect(r3.nextExpectedRevision).toBe(4);
        expect(r2.position > r1.position).toBe(true);
        expect(r3.position > r2.position).toBe(true);

        const readA = await store.readStream(a);
        expect(readA.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4]);
        expect(readA.every((e) => e.streamId === a)).toBe(true);
        assertStrictlyIncreasing(readA.map((e) => e.position));
        const readB = await store.readStream(b);
        expect(readB).toHaveLength(1);
        expect(readB[0]!.position > readA[1]!.position && readB[0]!.position < readA[2]!.position).toBe(true);
      });

      it('reads from a revision, up to a count, and a missing stream as []', async () => {
        const streamId = streamName();
        const events = newEvents(10);
        await store.append(streamId, events, 'no_stream');

        expect((await store.readStream(streamId, { fromRevision: 3 })).map((e) => e.revision)).toEqual([3, 4, 5, 6, 7, 8, 9]);
        expect((await store.readStream(streamId, { maxCount: 4 })).map((e) => e.revision)).toEqual([0, 1, 2, 3]);
        const window = await store.readStream(streamId, { fromRevision: 8, maxCount: 5 });
        expect(window.map((e) => e.revision)).toEqual([8, 9]);
        expect(window.map((e) => e.id)).toEqual([events[8]!.id, events[9]!.id]);
        expect(await store.readStream(streamId, { fromRevision: 10 })).toEqual([]);
        expect(await store.readStream(streamName('missing'))).toEqual([]);
      });

      it('round-trips a large payload', async () => {
        const streamId = streamName();
        const big = 'x'.repeat(200 * 1024);
        const items = Array.from({ length: 500 }, (_, i) => ({ i, label: `item-${i}` }));
        const event = newEvent('Large', { big, items });
        await store.append(streamId, [event], 'no_stream');
        const [read] = await store.readStream(streamId);
        expect((read!.data.big as string).length).toBe(big.length);
        expect(read!.data).toEqual({ big, items });
      });

      it('round-trips unicode in stream ids, data and metadata', async () => {
        const streamId = `tenant-ü/токен-🔑-${randomUUID()}`;
        const data = {
          name: 'Zoë’s key — 鍵 🔐',
          rtl: 'مفتاح',
          combining: 'e\u0301',
          nul: 'a\u0000b',
          astral: '𝄞𐐷',
          quotes: `"'\\`,
        };
        const meta = metadata({ userAgent: 'Navigateur/1.0 (été; 日本語)' });
        await store.append(streamId, [newEvent('Unicode', data, meta)], 'no_stream');
        const [read] = await store.readStream(streamId);
        expect(read!.streamId).toBe(streamId);
        expect(read!.data).toEqual(data);
        expect(read!.metadata).toEqual(meta);
      });

      it('rejects an empty batch and invalid stream ids, writing nothing', async () => {
        const empty = await rejectionOf(store.append(streamName(), [], 'any'));
        expect(empty).toBeInstanceOf(Error);
        expect(empty).not.toBeInstanceOf(WrongExpectedRevisionError);
        await expect(store.append('', newEvents(1), 'any')).rejects.toThrow();
        await expect(store.append('s'.repeat(513), newEvents(1), 'any')).rejects.toThrow();
        expect(await store.headPosition()).toBeNull();

        const longest = 's'.repeat(512);
        await store.append(longest, newEvents(1), 'no_stream');
        expect(await store.readStream(longest)).toHaveLength(1);
      });

      it('rejects a duplicate event id within a batch, writing nothing', async () => {
        const streamId = streamName();
        const event = newEvent();
        await expect(store.append(streamId, [event, newEvent(), { ...event }], 'any')).rejects.toThrow();
        expect(await store.readStream(streamId)).toEqual([]);
        expect(await store.headPosition()).toBeNull();
      });

      it('rejects an event id already in the log, writing none of the batch', async () => {
        const first = streamName('first');
        const second = streamName('second');
        const existing = newEvent();
        await store.append(first, [existing], 'no_stream');
        const head = await store.headPosition();

        const fresh = newEvent();
        await expect(store.append(second, [fresh, { ...existing, data: { other: true } }], 'any')).rejects.toThrow();
        expect(await store.readStream(second)).toEqual([]);
        expect(await store.headPosition()).toBe(head);
        const [kept] = await store.readStream(first);
        expect(kept!.data).toEqual(existing.data);

        // Nothing of the failed batch was kept, so its new id is still free.
        await store.append(second, [fresh], 'no_stream');
        expect((await store.readStream(second)).map((e) => e.id)).toEqual([fresh.id]);
      });
    });

    describe('expected revision', () => {
      it("'no_stream' succeeds on a missing stream and fails on an existing one", async () => {
        const streamId = streamName();
        await store.append(streamId, newEvents(1), 'no_stream');
        await expectWrongRevision(store.append(streamId, newEvents(1), 'no_stream'), streamId, 'no_stream', 0);
        expect(await store.readStream(streamId)).toHaveLength(1);
      });

      it("'stream_exists' fails on a missing stream and succeeds on an existing one", async () => {
        const streamId = streamName();
        await expectWrongRevision(store.append(streamId, newEvents(1), 'stream_exists'), streamId, 'stream_exists', 'no_stream');
        expect(await store.readStream(streamId)).toEqual([]);
        expect(await store.headPosition()).toBeNull();

        await store.append(streamId, newEvents(1), 'no_stream');
        const result = await store.append(streamId, newEvents(2), 'stream_exists');
        expect(result.nextExpectedRevision).toBe(2);
      });

      it('an exact revision succeeds when current and fails otherwise', async () => {
        const streamId = streamName();
        await expectWrongRevision(store.append(streamId, newEvents(1), 0), streamId, 0, 'no_stream');
        await store.append(streamId, newEvents(2), 'no_stream');
        await expectWrongRevision(store.append(streamId, newEvents(1), 0), streamId, 0, 1);
        await expectWrongRevision(store.append(streamId, newEvents(1), 2), streamId, 2, 1);
        await expectWrongRevision(store.append(streamId, newEvents(1), 5), streamId, 5, 1);
        const result = await store.append(streamId, newEvents(1), 1);
        expect(result.nextExpectedRevision).toBe(2);
        expect((await store.readStream(streamId)).map((e) => e.revision)).toEqual([0, 1, 2]);
      });

      it("'any' succeeds on missing and existing streams", async () => {
        const streamId = streamName();
        expect((await store.append(streamId, newEvents(1), 'any')).nextExpectedRevision).toBe(0);
        expect((await store.append(streamId, newEvents(2), 'any')).nextExpectedRevision).toBe(2);
        expect((await store.readStream(streamId)).map((e) => e.revision)).toEqual([0, 1, 2]);
      });

      it('a failed check writes none of a multi-event batch', async () => {
        const streamId = streamName();
        const initial = newEvents(2);
        await store.append(streamId, initial, 'no_stream');
        const head = await store.headPosition();

        const batch = newEvents(3);
        await expectWrongRevision(store.append(streamId, batch, 0), streamId, 0, 1);
        expect((await store.readStream(streamId)).map((e) => e.id)).toEqual(initial.map((e) => e.id));
        expect(await store.headPosition()).toBe(head);

        // The same ids are accepted once the check holds: the failed attempt left no trace.
        const result = await store.append(streamId, batch, 1);
        expect(result.nextExpectedRevision).toBe(4);
        expect((await store.readStream(streamId)).map((e) => e.id)).toEqual([...initial, ...batch].map((e) => e.id));
      });

      it('of racing appends with the same expected revision across two instances, exactly one wins', async () => {
        const peer = await openPeer();
        const streamId = streamName();
        await store.append(streamId, newEvents(1), 'no_stream');

        const attempts = Array.from({ length: 10 }, (_, i) => {
          const event = newEvent('Racer', { attempt: i });
          return { event, result: (i % 2 === 0 ? store : peer).append(streamId, [event], 0) };
        });
        const settled = await Promise.allSettled(attempts.map((a) => a.result));
        const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const s of settled) {
          if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(WrongExpectedRevisionError);
        }
        const read = await peer.readStream(streamId);
        expect(read.map((e) => e.revision)).toEqual([0, 1]);
        expect(read[1]!.id).toBe(attempts[winners[0]!]!.event.id);
      });

      it("of racing 'no_stream' appends across two instances, exactly one creates the stream", async () => {
        const peer = await openPeer();
        const streamId = streamName();
        const settled = await Promise.allSettled(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : peer).append(streamId, newEvents(2), 'no_stream')),
        );
        expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
        for (const s of settled) {
          if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(WrongExpectedRevisionError);
        }
        expect((await store.readStream(streamId)).map((e) => e.revision)).toEqual([0, 1]);
      });

      it('an append through one instance is visible to the expected-revision check of another', async () => {
        const peer = await openPeer();
        const streamId = streamName();
        await peer.append(streamId, newEvents(3), 'no_stream');
        await expectWrongRevision(store.append(streamId, newEvents(1), 'no_stream'), streamId, 'no_stream', 2);
        await expectWrongRevision(store.append(streamId, newEvents(1), 1), streamId, 1, 2);
        expect((await store.append(streamId, newEvents(1), 2)).nextExpectedRevision).toBe(3);
      });
    });

    describe('concurrent appends through one instance', () => {
      it('to different streams all succeed, each answering its own revision and a distinct position', async () => {
        const streams = Array.from({ length: 12 }, () => streamName('parallel'));
        const batches = streams.map((_, i) => newEvents(1 + (i % 3)));
        const results = await Promise.all(streams.map((streamId, i) => store.append(streamId, batches[i]!, 'no_stream')));
        expect(new Set(results.map((r) => r.position)).size).toBe(streams.length);
        for (let i = 0; i < streams.length; i++) {
          const read = await store.readStream(streams[i]!);
          expect(read.map((e) => e.id)).toEqual(batches[i]!.map((e) => e.id));
          expect(results[i]).toEqual({ nextExpectedRevision: batches[i]!.length - 1, position: read.at(-1)!.position });
        }
        expect(await store.headPosition()).toBe(results.reduce((max, r) => (r.position > max ? r.position : max), 0n));
      });

      it("to one stream with 'any' all succeed, with revisions 0..n and each append's events together", async () => {
        const streamId = streamName();
        const batches = Array.from({ length: 8 }, () => newEvents(2));
        const results = await Promise.all(batches.map((batch) => store.append(streamId, batch, 'any')));
        const read = await store.readStream(streamId);
        expect(read.map((e) => e.revision)).toEqual(Array.from({ length: 16 }, (_, i) => i));
        expect(results.map((r) => r.nextExpectedRevision).sort((a, b) => a - b)).toEqual([1, 3, 5, 7, 9, 11, 13, 15]);
        batches.forEach((batch, i) => {
          const last = read.find((e) => e.revision === results[i]!.nextExpectedRevision)!;
          expect(read.find((e) => e.revision === results[i]!.nextExpectedRevision - 1)!.id).toBe(batch[0]!.id);
          expect({ id: last.id, position: last.position }).toEqual({ id: batch[1]!.id, position: results[i]!.position });
        });
      });

      it('to one stream with the same expected revision: exactly one wins, the others write nothing', async () => {
        const streamId = streamName();
        await store.append(streamId, newEvents(1), 'no_stream');
        const attempts = Array.from({ length: 10 }, (_, i) => newEvents(2, `Racer${i}`));
        const settled = await Promise.allSettled(attempts.map((batch) => store.append(streamId, batch, 0)));
        const winners = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [i] : []));
        expect(winners).toHaveLength(1);
        for (const s of settled) {
          if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(WrongExpectedRevisionError);
        }
        const read = await store.readStream(streamId);
        expect(read.slice(1).map((e) => e.id)).toEqual(attempts[winners[0]!]!.map((e) => e.id));
      });

      it('a failing append fails alone: the others issued with it succeed and it writes nothing', async () => {
        const existing = newEvent();
        const taken = streamName('taken');
        await store.append(taken, [existing], 'no_stream');
        const head = await store.headPosition();

        const good = Array.from({ length: 6 }, () => ({ streamId: streamName('good'), events: newEvents(2) }));
        const wrongRevision = { streamId: taken, events: newEvents(2), expected: 5 as ExpectedRevision };
        const repeated = newEvent();
        const duplicate = { streamId: streamName('duplicate'), events: [repeated, newEvent(), { ...repeated }], expected: 'no_stream' as ExpectedRevision };
        const outcomes = await Promise.allSettled([
          ...good.slice(0, 3).map((g) => store.append(g.streamId, g.events, 'no_stream')),
          store.append(wrongRevision.streamId, wrongRevision.events, wrongRevision.expected),
          store.append(duplicate.streamId, duplicate.events, duplicate.expected),
          ...good.slice(3).map((g) => store.append(g.streamId, g.events, 'no_stream')),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
        expect((outcomes[3] as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedRevisionError);
        expect((outcomes[4] as PromiseRejectedResult).reason).toBeInstanceOf(Error);

        expect((await store.readStream(taken)).map((e) => e.id)).toEqual([existing.id]);
        expect(await store.readStream(duplicate.streamId)).toEqual([]);
        for (const g of good) expect((await store.readStream(g.streamId)).map((e) => e.id)).toEqual(g.events.map((e) => e.id));
        const p = probe(store, { fromPosition: head });
        await p.waitForCaughtUp();
        expect(p.events.map((e) => e.id).sort()).toEqual(good.flatMap((g) => g.events.map((e) => e.id)).sort());
      });
    });

    describe('positions', () => {
      it('headPosition is null when empty and follows appends', async () => {
        expect(await store.headPosition()).toBeNull();
        const r1 = await store.append(streamName(), newEvents(2), 'no_stream');
        expect(await store.headPosition()).toBe(r1.position);
        const r2 = await store.append(streamName(), newEvents(1), 'no_stream');
        expect(await store.headPosition()).toBe(r2.position);
        expect(r2.position > r1.position).toBe(true);
        const peer = await openPeer();
        expect(await peer.headPosition()).toBe(r2.position);
      });

      it('compare as bigints and survive formatPosition/parsePosition', async () => {
        await store.append(streamName(), newEvents(3), 'no_stream');
        const read = (await collectUntilCaughtUp(store)).events;
        expect(read).toHaveLength(3);
        for (const event of read) {
          expect(typeof event.position).toBe('bigint');
          const text = formatPosition(event.position);
          expect(text).toMatch(/^\d+$/);
          expect(parsePosition(text)).toBe(event.position);
        }
        assertStrictlyIncreasing(read.map((e) => e.position));

        const resumed = await collectUntilCaughtUp(store, parsePosition(formatPosition(read[0]!.position)));
        expect(resumed.events.map((e) => e.id)).toEqual([read[1]!.id, read[2]!.id]);
      });
    });

    /** Subscribes, waits for `caughtUp`, closes, and returns what arrived before it. */
    async function collectUntilCaughtUp(on: EventStore, fromPosition: bigint | null = null) {
      const p = probe(on, { fromPosition });
      await p.waitForCaughtUp();
      await p.subscription.close();
      return { events: p.catchUpEvents, caughtUp: p.caughtUpMessages[0]! };
    }

    describe('subscribe', () => {
      it('from the start delivers everything in order, then caughtUp once, then live appends from this and another instance', async () => {
        const a = streamName('a');
        const b = streamName('b');
        const existing = [...newEvents(3, 'A')];
        await store.append(a, existing.slice(0, 2), 'no_stream');
        await store.append(b, [existing[2]!], 'no_stream');
        const head = await store.headPosition();

        const p = probe(store, { fromPosition: null });
        await p.waitForCaughtUp();
        expect(p.catchUpEvents.map((e) => e.id)).toEqual(existing.map((e) => e.id));
        expect(p.caughtUpMessages[0]!.position).toBe(head);
        const fromRead = [...(await store.readStream(a)), ...(await store.readStream(b))];
        expect(p.catchUpEvents).toEqual(fromRead);

        const local = newEvent('Live', { from: 'same instance' });
        await store.append(a, [local], 1);
        await p.waitForIds([local.id]);

        const peer = await openPeer();
        const remote = newEvent('Live', { from: 'peer instance' });
        await peer.append(b, [remote], 0);
        await p.waitForIds([remote.id]);

        const more = newEvents(3, 'Live');
        await peer.append(b, more.slice(0, 2), 1);
        await store.append(a, more.slice(2), 2);
        await p.waitForIds(more.map((e) => e.id));

        expect(p.ids).toEqual([...existing, local, remote, ...more].map((e) => e.id));
        assertStrictlyIncreasing(p.events.map((e) => e.position));
        expect(p.caughtUpMessages).toHaveLength(1);
        expect(p.error).toBeUndefined();
        const live = p.events.find((e) => e.id === remote.id)!;
        expect(live.streamId).toBe(b);
        expect(live.revision).toBe(1);
        expect(live.data).toEqual({ from: 'peer instance' });
        expect(live.metadata).toEqual(remote.metadata);
        expect(live.recordedAt).toBeInstanceOf(Date);
      });

      it('delivers live appends exactly as a read returns them: groups of concurrent appends, some failing, between appends of another instance', async () => {
        await store.append(streamName('seed'), [newEvent('Seed')], 'no_stream');
        const p = probe(store, { fromPosition: null });
        await p.waitForCaughtUp();
        const peer = await openPeer();
        const streams = [streamName('g0'), streamName('g1'), streamName('g2')];
        const revisions = new Map<string, number | 'no_stream'>(streams.map((s) => [s, 'no_stream']));
        const written: string[] = [];
        for (let round = 0; round < 6; round++) {
          // One turn's appends through this instance: several streams, a multi-event append, and one that fails its check.
          const appends = streams.map((s, i) => {
            // Data as a command may hand it over: a Date and an undefined member, which the log keeps as JSON keeps them.
            const events =
              i === 1
                ? [newEvent(`Round${round}`, { at: new Date(round), gone: undefined, text: 'ünï' }), ...newEvents(2, `Round${round}`)]
                : newEvents(1, `Round${round}`);
            return store.append(s, events, revisions.get(s)!).then((result) => {
              revisions.set(s, result.nextExpectedRevision);
              written.push(...events.map((e) => e.id));
            });
          });
          const refused = store.append(streams[0]!, [newEvent('Refused')], 99).then(
            () => {
              throw new Error('an append expecting revision 99 succeeded');
            },
            (error: unknown) => expect(error).toBeInstanceOf(WrongExpectedRevisionError),
          );
          await Promise.all([...appends, refused]);
          if (round % 2 === 1) {
            const other = newEvents(2, `Peer${round}`);
            await peer.append(streamName(`peer${round}`), other, 'no_stream');
            written.push(...other.map((e) => e.id));
          }
        }
        await p.waitForIds(written);

        const live = p.events.slice(1);
        expect(new Set(live.map((e) => e.id))).toEqual(new Set(written));
        assertStrictlyIncreasing(p.events.map((e) => e.position));
        // A second subscription from the start reads them all back from the store.
        const fromStore = probe(store, { fromPosition: null });
        await fromStore.waitForCaughtUp();
        expect(p.events).toEqual(fromStore.catchUpEvents);
        expect(p.error).toBeUndefined();
      });

      it('on an empty store reports caughtUp at null, then delivers live appends', async () => {
        const p = probe(store);
        await p.waitForCaughtUp();
        expect(p.messages).toEqual([{ type: 'caughtUp', position: null }]);
        const event = newEvent();
        const result = await store.append(streamName(), [event], 'no_stream');
        await p.waitForIds([event.id]);
        expect(p.events[0]!.position).toBe(result.position);
      });

      it('from a position delivers only later events', async () => {
        const streamId = streamName();
        const events = newEvents(5);
        await store.append(streamId, events, 'no_stream');
        const read = await store.readStream(streamId);

        const p = probe(store, { fromPosition: read[2]!.position });
        await p.waitForCaughtUp();
        expect(p.catchUpEvents.map((e) => e.id)).toEqual([events[3]!.id, events[4]!.id]);
        expect(p.caughtUpMessages[0]!.position).toBe(read[4]!.position);

        const live = newEvent();
        await store.append(streamId, [live], 4);
        await p.waitForIds([live.id]);
        expect(p.ids).toEqual([events[3]!.id, events[4]!.id, live.id]);
      });

      it('from the head position delivers nothing before caughtUp', async () => {
        const result = await store.append(streamName(), newEvents(3), 'no_stream');
        const p = probe(store, { fromPosition: result.position });
        await p.waitForCaughtUp();
        expect(p.messages).toEqual([{ type: 'caughtUp', position: result.position }]);
      });

      it('filters by event type, in catch-up and live', async () => {
        const streamId = streamName();
        const events = [newEvent('A'), newEvent('B'), newEvent('C'), newEvent('A'), newEvent('B'), newEvent('C')];
        await store.append(streamId, events, 'no_stream');

        const p = probe(store, { eventTypes: ['A', 'C'] });
        await p.waitForCaughtUp();
        expect(p.catchUpEvents.map((e) => e.id)).toEqual([events[0], events[2], events[3], events[5]].map((e) => e!.id));

        const excluded = newEvent('B');
        const included = newEvent('C');
        await store.append(streamId, [excluded], 5);
        const peer = await openPeer();
        await peer.append(streamId, [newEvent('B'), included], 6);
        // `included` is the last of these in log order: once it has arrived, any excluded event
        // that was going to be delivered has been.
        await p.waitForIds([included.id]);
        expect(p.events.every((e) => e.type === 'A' || e.type === 'C')).toBe(true);
        expect(p.ids).toEqual([events[0], events[2], events[3], events[5], included].map((e) => e!.id));
        assertStrictlyIncreasing(p.events.map((e) => e.position));
      });

      it('respects maxBatchSize', async () => {
        const streamId = streamName();
        const events = newEvents(25);
        await store.append(streamId, events, 'no_stream');
        const p = probe(store, { maxBatchSize: 10 });
        await p.waitForCaughtUp();
        const batches = p.messages.filter((m) => m.type === 'events');
        expect(batches.length).toBeGreaterThanOrEqual(3);
        for (const batch of batches) expect(batch.type === 'events' && batch.events.length).toBeLessThanOrEqual(10);
        expect(p.ids).toEqual(events.map((e) => e.id));
      });

      it('keeps two subscriptions independent', async () => {
        const streamId = streamName();
        const events = newEvents(4);
        await store.append(streamId, events, 'no_stream');
        const read = await store.readStream(streamId);

        const all = probe(store);
        const later = probe(store, { fromPosition: read[1]!.position });
        await all.waitForCaughtUp();
        await later.waitForCaughtUp();
        expect(all.ids).toEqual(events.map((e) => e.id));
        expect(later.ids).toEqual([events[2]!.id, events[3]!.id]);

        await all.subscription.close();
        await all.waitForEnd();

        const live = newEvent();
        await store.append(streamId, [live], 3);
        await later.waitForIds([live.id]);
        expect(later.ended).toBe(false);
        expect(all.ids).not.toContain(live.id);
      });

      it('close() ends a pending iteration, is idempotent, and stops delivery', async () => {
        const p = probe(store);
        await p.waitForCaughtUp();
        await p.subscription.close();
        await p.waitForEnd();
        await p.finished;
        expect(p.error).toBeUndefined();
        await p.subscription.close();

        // A subscription still open sees the append: by then the closed one would have too.
        const sentinel = probe(store);
        await sentinel.waitForCaughtUp();
        const appended = newEvents(1);
        await store.append(streamName(), appended, 'no_stream');
        await sentinel.waitForIds(appended.map((e) => e.id));
        expect(p.events).toEqual([]);
      });

      it('a subscription closed before iteration yields nothing', async () => {
        await store.append(streamName(), newEvents(2), 'no_stream');
        const subscription = store.subscribe();
        await subscription.close();
        const iterator = subscription[Symbol.asyncIterator]();
        expect(await iterator.next()).toEqual(expect.objectContaining({ done: true }));
      });

      it('breaking out of for-await releases the subscription', async () => {
        const streamId = streamName();
        await store.append(streamId, newEvents(3), 'no_stream');
        const subscription = store.subscribe({ maxBatchSize: 1 });
        const seen: string[] = [];
        for await (const message of subscription) {
          if (message.type === 'events') seen.push(...message.events.map((e) => e.id));
          if (seen.length === 1) break;
        }
        expect(seen).toHaveLength(1);
        await subscription.close();
        // The store keeps working and closes cleanly with the released subscription behind it.
        await store.append(streamId, newEvents(1), 2);
        expect(await store.readStream(streamId)).toHaveLength(4);
      });

      it('store.close() ends every subscription and is idempotent', async () => {
        const first = probe(store);
        const second = probe(store, { eventTypes: ['Nothing'] });
        await first.waitForCaughtUp();
        await second.waitForCaughtUp();
        await store.close();
        await first.waitForEnd();
        await second.waitForEnd();
        expect(first.error).toBeUndefined();
        expect(second.error).toBeUndefined();
        await store.close();
      });

      it('delivers a large payload to subscribers', async () => {
        const p = probe(store);
        await p.waitForCaughtUp();
        const big = 'y'.repeat(200 * 1024);
        const event = newEvent('Large', { big });
        await store.append(streamName(), [event], 'no_stream');
        await p.waitForIds([event.id]);
        expect(p.events[0]!.data).toEqual({ big });
      });
    });
  });
}
