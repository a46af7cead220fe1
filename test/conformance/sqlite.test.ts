import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { EventStoreError, EventStoreUnavailableError, type NewEvent, type SubscriptionMessage } from '../../src/eventstore/port';
import { SQLITE_EVENT_STORE_SCHEMA_VERSION, SqliteEventStore } from '../../src/eventstore/sqlite';
import { describeEventStoreConformance, type ConformanceTarget } from './eventstore-conformance';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'keyledger-sqlite-es-'));
}

describeEventStoreConformance('sqlite', (): ConformanceTarget => {
  let dir: string | undefined;
  let file: string | undefined;
  return {
    async open() {
      dir = tempDir();
      file = path.join(dir, 'events.db');
      return SqliteEventStore.open(file);
    },
    async openPeer() {
      if (!file) throw new Error('openPeer() before open()');
      return SqliteEventStore.open(file);
    },
    async cleanup() {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

function event(type = 'TestEvent', data: Record<string, unknown> = {}): NewEvent {
  return {
    id: randomUUID(),
    type,
    data,
    metadata: { actor: { type: 'system', id: 'test', tenantId: null }, requestId: randomUUID(), occurredAt: new Date(0).toISOString() },
  };
}

async function untilCaughtUp(iterator: AsyncIterator<SubscriptionMessage>): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const { done, value } = await iterator.next();
    if (done) throw new Error('subscription ended before caughtUp');
    if (value.type === 'caughtUp') return ids;
    if (value.type === 'events') ids.push(...value.events.map((e) => e.id));
  }
}

describe('SqliteEventStore specifics', () => {
  let dir: string;
  const stores: SqliteEventStore[] = [];

  function open(file = path.join(dir, 'events.db'), options?: Parameters<typeof SqliteEventStore.open>[1]) {
    const store = SqliteEventStore.open(file, options);
    stores.push(store);
    return store;
  }

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates missing parent directories and a WAL-mode file with the current schema version', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'events.db');
    const store = open(file);
    await store.append('s', [event()], 'no_stream');

    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SQLITE_EVENT_STORE_SCHEMA_VERSION);
      const objects = raw.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')").pluck().all();
      expect(objects).toEqual(expect.arrayContaining(['events', 'streams', 'events_type_position']));
      expect(raw.prepare('SELECT stream_id, revision FROM streams').all()).toEqual([{ stream_id: 's', revision: 0 }]);
    } finally {
      raw.close();
    }
  });

  it('keeps events across reopen and continues positions and revisions', async () => {
    const file = path.join(dir, 'events.db');
    const first = open(file);
    const r1 = await first.append('s', [event(), event()], 'no_stream');
    await first.close();

    const second = open(file);
    expect(await second.headPosition()).toBe(r1.position);
    const r2 = await second.append('s', [event()], 1);
    expect(r2.nextExpectedRevision).toBe(2);
    expect(r2.position > r1.position).toBe(true);
    expect(await second.readStream('s')).toHaveLength(3);
  });

  it('opens with synchronous FULL and custom timings', async () => {
    const store = open(path.join(dir, 'full.db'), { synchronous: 'FULL', pollIntervalMs: 5, busyTimeoutMs: 1000 });
    await store.append('s', [event()], 'no_stream');
    expect(await store.readStream('s')).toHaveLength(1);
  });

  it('rejects invalid options', () => {
    expect(() => SqliteEventStore.open(path.join(dir, 'x.db'), { pollIntervalMs: 0 })).toThrow(RangeError);
    expect(() => SqliteEventStore.open(path.join(dir, 'x.db'), { synchronous: 'OFF' as 'FULL' })).toThrow(RangeError);
  });

  it('refuses a file written by a newer schema version', () => {
    const file = path.join(dir, 'future.db');
    const raw = new Database(file);
    raw.pragma(`user_version = ${SQLITE_EVENT_STORE_SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => SqliteEventStore.open(file)).toThrow(/newer/);
  });

  it('opens two stores on one fresh file and shares the schema', async () => {
    const file = path.join(dir, 'shared.db');
    const a = open(file);
    const b = open(file);
    await a.append('s', [event()], 'no_stream');
    expect(await b.readStream('s')).toHaveLength(1);
  });

  it('works in memory', async () => {
    const store = open(':memory:');
    await store.append('s', [event()], 'no_stream');
    expect(await store.readStream('s')).toHaveLength(1);
  });

  it('names the duplicate id', async () => {
    const store = open();
    const existing = event();
    await store.append('a', [existing], 'no_stream');
    const error = await store.append('b', [event(), existing], 'any').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreError);
    expect((error as Error).message).toContain(existing.id);
    expect((error as Error).message).toContain('"a"');
  });

  it('in one group, a single-event append that fails writes nothing, not even its stream, and fails alone', async () => {
    const store = open();
    const existing = event();
    await store.append('taken', [existing], 'no_stream');
    const good = [event(), event(), event()];
    const outcomes = await Promise.allSettled([
      store.append('good-0', [good[0]!], 'no_stream'),
      // Its event id is in the log already: the insert fails after the revision check passed.
      store.append('reused-id', [{ ...event(), id: existing.id }], 'no_stream'),
      store.append('good-1', [good[1]!], 'no_stream'),
      store.append('taken', [event()], 'no_stream'),
      store.append('good-2', [good[2]!], 'no_stream'),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await store.readStream('reused-id')).toEqual([]);
    for (const [i, e] of good.entries()) expect((await store.readStream(`good-${i}`)).map((read) => read.id)).toEqual([e.id]);
    // No revision was recorded for the failed stream: it can still be created.
    const created = event();
    await store.append('reused-id', [created], 'no_stream');
    expect((await store.readStream('reused-id')).map((read) => read.revision)).toEqual([0]);
  });

  it('a type-filtered subscription receives its types appended after appends of other types', async () => {
    const store = open();
    const iterator = store.subscribe({ eventTypes: ['Wanted'] })[Symbol.asyncIterator]();
    expect(await untilCaughtUp(iterator)).toEqual([]);
    await store.append('other', [event('Other'), event('Other')], 'no_stream');
    const wanted = event('Wanted');
    await Promise.all([store.append('mixed', [event('Other')], 'no_stream'), store.append('wanted', [wanted], 'no_stream')]);
    const next = await iterator.next();
    expect(next.value).toMatchObject({ type: 'events' });
    expect((next.value as { events: { id: string }[] }).events.map((e) => e.id)).toEqual([wanted.id]);
    await iterator.return?.();
  });

  it('rejects operations after close with EventStoreUnavailableError', async () => {
    const store = open();
    await store.close();
    await expect(store.append('s', [event()], 'any')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.readStream('s')).rejects.toBeInstanceOf(EventStoreUnavailableError);
    await expect(store.headPosition()).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(() => store.subscribe()).toThrow(EventStoreUnavailableError);
  });

  it('rejects invalid read and subscribe arguments', async () => {
    const store = open();
    await expect(store.readStream('s', { fromRevision: -1 })).rejects.toThrow(RangeError);
    await expect(store.readStream('s', { maxCount: 1.5 })).rejects.toThrow(RangeError);
    await expect(store.append('s', [event()], -1)).rejects.toThrow(RangeError);
    expect(() => store.subscribe({ maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => store.subscribe({ fromPosition: -1n })).toThrow(RangeError);
    expect(store.subscriptionCount).toBe(0);
  });

  it('releases a subscription on break, close and store close', async () => {
    const store = open();
    await store.append('s', [event(), event(), event()], 'no_stream');

    const broken = store.subscribe({ maxBatchSize: 1 });
    expect(store.subscriptionCount).toBe(1);
    for await (const message of broken) {
      if (message.type === 'events') break;
    }
    expect(store.subscriptionCount).toBe(0);

    const closed = store.subscribe();
    await closed.close();
    expect(store.subscriptionCount).toBe(0);

    store.subscribe();
    store.subscribe({ eventTypes: ['X'] });
    expect(store.subscriptionCount).toBe(2);
    await store.close();
    expect(store.subscriptionCount).toBe(0);
  });

  it('return() while next() is pending resolves both', async () => {
    const store = open();
    const iterator = store.subscribe()[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: { type: 'caughtUp', position: null } });
    const pending = iterator.next();
    const returned = await iterator.return!();
    expect(returned.done).toBe(true);
    expect((await pending).done).toBe(true);
    expect(store.subscriptionCount).toBe(0);
  });

  it('pages type-filtered catch-up correctly across many matching events', async () => {
    const store = open();
    const types = ['A', 'B', 'C', 'D'];
    const all: NewEvent[] = [];
    for (let batch = 0; batch < 25; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => event(types[(batch * 7 + i * 3) % types.length]!, { batch, i }));
      await store.append(`s-${batch % 5}`, events, 'any');
      all.push(...events);
    }
    const wanted = new Set(['A', 'C', 'D']);
    const ids = await untilCaughtUp(store.subscribe({ eventTypes: ['D', 'A', 'C', 'A'], maxBatchSize: 333 })[Symbol.asyncIterator]());
    expect(ids).toEqual(all.filter((e) => wanted.has(e.type)).map((e) => e.id));
  });

  it('filters correctly with a long list of event types', async () => {
    const store = open();
    const types = Array.from({ length: 40 }, (_, i) => `T${i}`);
    const events = Array.from({ length: 200 }, (_, i) => event(i % 3 === 0 ? 'Other' : types[i % types.length]!));
    await store.append('s', events, 'no_stream');
    const ids = await untilCaughtUp(store.subscribe({ eventTypes: types, maxBatchSize: 50 })[Symbol.asyncIterator]());
    expect(ids).toEqual(events.filter((e) => e.type !== 'Other').map((e) => e.id));
  });

  it('an empty type list matches nothing', async () => {
    const store = open();
    await store.append('s', [event()], 'no_stream');
    const ids = await untilCaughtUp(store.subscribe({ eventTypes: [] })[Symbol.asyncIterator]());
    expect(ids).toEqual([]);
  });

  it('readStream with maxCount 0 returns nothing', async () => {
    const store = open();
    await store.append('s', [event()], 'no_stream');
    expect(await store.readStream('s', { maxCount: 0 })).toEqual([]);
  });
});
