/**
 * Several gateway processes may share one SQLite event store file. These tests run the
 * adapter in real child processes (plain Node, no test runner) against a file the test
 * process also has open.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { WrongExpectedRevisionError, type NewEvent, type RecordedEvent, type SubscriptionMessage } from '../../src/eventstore/port';
import { SqliteEventStore } from '../../src/eventstore/sqlite';

const repoRoot = path.resolve(__dirname, '../..');
const SOURCES = [
  'src/eventstore/port.ts',
  'src/eventstore/sqlite/sqlite-event-store.ts',
  'src/eventstore/sqlite/index.ts',
  'src/sqlite/background-checkpoints.ts',
];
const ARRIVAL_TIMEOUT_MS = 20_000;

jest.setTimeout(90_000);

/*
 * The child runs the adapter's own code, compiled on the fly: it must go through the same
 * BEGIN IMMEDIATE / expected-revision path as the parent, not through hand-written SQL.
 */
const CHILD_SCRIPT = String.raw`
const { randomUUID } = require('node:crypto');
const { SqliteEventStore } = require(process.env.KL_STORE_MODULE);
const { WrongExpectedRevisionError } = require(process.env.KL_PORT_MODULE);
const task = JSON.parse(process.env.KL_TASK);
const metadata = () => ({ actor: { type: 'system', id: 'child-' + process.pid, tenantId: null }, requestId: randomUUID(), occurredAt: new Date().toISOString() });
const newEvent = (type, data) => ({ id: randomUUID(), type, data, metadata: metadata() });

async function main() {
  const store = SqliteEventStore.open(task.file);
  const out = { ids: [], conflicts: 0 };
  try {
    if (task.mode === 'append') {
      let expected = task.expected;
      for (let i = 0; i < task.count; i++) {
        const event = newEvent('ChildAppended', { i, pid: process.pid });
        const result = await store.append(task.stream, [event], expected);
        expected = result.nextExpectedRevision;
        out.ids.push(event.id);
      }
    } else if (task.mode === 'race') {
      for (let i = 0; i < task.attempts; i++) {
        const events = await store.readStream(task.stream);
        const current = events[events.length - 1].revision;
        const event = newEvent('Raced', { i, pid: process.pid });
        try {
          await store.append(task.stream, [event], current);
          out.ids.push(event.id);
        } catch (error) {
          if (!(error instanceof WrongExpectedRevisionError)) throw error;
          out.conflicts++;
        }
      }
    } else {
      throw new Error('unknown mode ' + task.mode);
    }
  } finally {
    await store.close();
  }
  process.stdout.write(JSON.stringify(out));
}
main().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

interface ChildOutput {
  ids: string[];
  conflicts: number;
}

let buildDir: string;
let workDir: string;

beforeAll(() => {
  buildDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyledger-xproc-build-'));
  for (const source of SOURCES) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(repoRoot, source), 'utf8'), {
      fileName: source,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const target = path.join(buildDir, source.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
});

afterAll(() => {
  fs.rmSync(buildDir, { recursive: true, force: true });
});

beforeEach(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyledger-xproc-'));
});

afterEach(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

function runChild(task: Record<string, unknown>): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CHILD_SCRIPT], {
      env: {
        ...process.env,
        // The compiled adapter lives in a temp dir; its `better-sqlite3` import resolves from the repo.
        NODE_PATH: path.join(repoRoot, 'node_modules'),
        KL_STORE_MODULE: path.join(buildDir, 'src/eventstore/sqlite/index.js'),
        KL_PORT_MODULE: path.join(buildDir, 'src/eventstore/port.js'),
        KL_TASK: JSON.stringify(task),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${String(code)}: ${stderr}`));
      else resolve(JSON.parse(stdout) as ChildOutput);
    });
  });
}

/* Waits for every child even when one fails, so none is still writing when the temp dir is removed. */
async function runChildren(tasks: Array<Record<string, unknown>>): Promise<ChildOutput[]> {
  const settled = await Promise.allSettled(tasks.map(runChild));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ChildOutput>).value);
}

function newEvent(type = 'ParentAppended'): NewEvent {
  return {
    id: randomUUID(),
    type,
    data: { pid: process.pid },
    metadata: { actor: { type: 'system', id: 'parent', tenantId: null }, requestId: randomUUID(), occurredAt: new Date().toISOString() },
  };
}

/** Drains a subscription in the background so the test can wait on what has arrived. */
function collect(iterable: AsyncIterable<SubscriptionMessage>) {
  const state = { events: [] as RecordedEvent[], caughtUp: false, ended: false, error: undefined as unknown };
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  void (async () => {
    try {
      for await (const message of iterable) {
        if (message.type === 'events') state.events.push(...message.events);
        if (message.type === 'caughtUp') state.caughtUp = true;
        notify();
      }
    } catch (error) {
      state.error = error;
    } finally {
      state.ended = true;
      notify();
    }
  })();
  const waitFor = (description: string, predicate: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (predicate()) done(resolve);
        else if (state.ended) done(() => reject(new Error(`subscription ended (${String(state.error)}) before ${description}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out waiting for ${description}; have ${state.events.length} events`))),
        ARRIVAL_TIMEOUT_MS,
      );
      const done = (finish: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        finish();
      };
      waiters.add(check);
      check();
    });
  return { state, waitFor };
}

it("a subscription sees another process's appends in order, and stale expected revisions fail afterwards", async () => {
  const file = path.join(workDir, 'events.db');
  const store = SqliteEventStore.open(file);
  try {
    const stream = 'token-shared';
    const seed = newEvent();
    await store.append(stream, [seed], 'no_stream');

    const subscription = store.subscribe();
    const feed = collect(subscription);
    await feed.waitFor('caughtUp', () => feed.state.caughtUp);

    const count = 40;
    const child = await runChild({ mode: 'append', file, stream, expected: 0, count });
    expect(child.ids).toHaveLength(count);

    await feed.waitFor(`${count + 1} events`, () => feed.state.events.length >= count + 1);
    const received = feed.state.events;
    expect(received.map((e) => e.id)).toEqual([seed.id, ...child.ids]);
    expect(received.map((e) => e.revision)).toEqual(Array.from({ length: count + 1 }, (_, i) => i));
    expect(received.every((e) => e.streamId === stream)).toBe(true);
    for (let i = 1; i < received.length; i++) expect(received[i]!.position > received[i - 1]!.position).toBe(true);
    expect(received[1]!.type).toBe('ChildAppended');
    expect(received[1]!.data).toEqual({ i: 0, pid: expect.any(Number) });

    const stale = await store.append(stream, [newEvent()], 0).catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(WrongExpectedRevisionError);
    expect((stale as WrongExpectedRevisionError).actual).toBe(count);
    await expect(store.append(stream, [newEvent()], 'no_stream')).rejects.toBeInstanceOf(WrongExpectedRevisionError);

    const current = await store.append(stream, [newEvent()], count);
    expect(current.nextExpectedRevision).toBe(count + 1);
    expect(await store.headPosition()).toBe(current.position);

    await subscription.close();
    await feed.waitFor('the subscription to end', () => feed.state.ended);
    expect(feed.state.error).toBeUndefined();
  } finally {
    await store.close();
  }
});

it('processes racing on one stream never both win the same revision', async () => {
  const file = path.join(workDir, 'events.db');
  const store = SqliteEventStore.open(file);
  try {
    const stream = 'token-raced';
    const seed = newEvent();
    await store.append(stream, [seed], 'no_stream');

    const attempts = 60;
    const results = await runChildren(Array.from({ length: 3 }, () => ({ mode: 'race', file, stream, attempts })));
    for (const result of results) expect(result.ids.length + result.conflicts).toBe(attempts);

    const winners = results.flatMap((r) => r.ids);
    const read = await store.readStream(stream);
    expect(read.map((e) => e.revision)).toEqual(Array.from({ length: winners.length + 1 }, (_, i) => i));
    expect(read[0]!.id).toBe(seed.id);
    expect(new Set(read.slice(1).map((e) => e.id))).toEqual(new Set(winners));
  } finally {
    await store.close();
  }
});

it('processes opening the same fresh file at once all get a working store', async () => {
  const file = path.join(workDir, 'not', 'yet', 'there', 'events.db');
  const count = 20;
  const streams = ['p0', 'p1', 'p2', 'p3'];
  const results = await runChildren(streams.map((stream) => ({ mode: 'append', file, stream, expected: 'no_stream', count })));

  const store = SqliteEventStore.open(file);
  try {
    for (const [i, stream] of streams.entries()) {
      const read = await store.readStream(stream);
      expect(read.map((e) => e.id)).toEqual(results[i]!.ids);
      expect(read.map((e) => e.revision)).toEqual(Array.from({ length: count }, (_, r) => r));
    }
    const positions = streams.length * count;
    const iterator = store.subscribe()[Symbol.asyncIterator]();
    const all: RecordedEvent[] = [];
    for (;;) {
      const { value } = await iterator.next();
      if (value.type === 'caughtUp') break;
      if (value.type === 'events') all.push(...value.events);
    }
    expect(all).toHaveLength(positions);
    expect(new Set(all.map((e) => e.position)).size).toBe(positions);
    await iterator.return!();
  } finally {
    await store.close();
  }
});
