import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ReadModelCache, readModelVersionsOf } from '../../../src/app/credentials/read-model-version';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('read-model versions', () => {
  let dir: string;
  let ours: Database.Database;
  let theirs: Database.Database;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyledger-versions-'));
    ours = new Database(join(dir, 'read-models.db'));
    ours.pragma('journal_mode = WAL');
    ours.exec('CREATE TABLE t (x INTEGER)');
    theirs = new Database(join(dir, 'read-models.db'));
  });
  afterEach(() => {
    ours.close();
    theirs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one object per connection, so every cache shares one reading', () => {
    expect(readModelVersionsOf(ours)).toBe(readModelVersionsOf(ours));
    expect(readModelVersionsOf(theirs)).not.toBe(readModelVersionsOf(ours));
  });

  it("another connection's commit shows from the next turn of the event loop, not within the work already queued", async () => {
    const versions = readModelVersionsOf(ours);
    const before = versions.ofOtherConnections();
    theirs.prepare('INSERT INTO t VALUES (1)').run();
    expect(versions.ofOtherConnections()).toBe(before);
    await Promise.resolve();
    expect(versions.ofOtherConnections()).toBe(before);
    await nextTurn();
    const after = versions.ofOtherConnections();
    expect(after).not.toBe(before);
    // Its own commits are not another connection's.
    ours.prepare('INSERT INTO t VALUES (2)').run();
    await nextTurn();
    expect(versions.ofOtherConnections()).toBe(after);
  });

  it("ofAll changes at once with this connection's own writes, and with others' from the next turn", async () => {
    const versions = readModelVersionsOf(ours);
    const first = versions.ofAll();
    ours.prepare('INSERT INTO t VALUES (1)').run();
    const second = versions.ofAll();
    expect(second).not.toBe(first);
    theirs.prepare('INSERT INTO t VALUES (2)').run();
    await nextTurn();
    expect(versions.ofAll()).not.toBe(second);
  });
});

describe('ReadModelCache', () => {
  it('reads a key once while the version holds, again once it changes, and keeps only what `keep` allows', () => {
    let version = 'a';
    const reads: string[] = [];
    const cache = new ReadModelCache<string, string | null>(() => version, 2);
    const read = (key: string) => {
      reads.push(key);
      return key === 'missing' ? null : key.toUpperCase();
    };
    const found = (value: string | null) => value !== null;
    expect(cache.get('x', read, found)).toBe('X');
    expect(cache.get('x', read, found)).toBe('X');
    expect(cache.get('missing', read, found)).toBeNull();
    expect(cache.get('missing', read, found)).toBeNull();
    expect(reads).toEqual(['x', 'missing', 'missing']);
    version = 'b';
    expect(cache.get('x', read, found)).toBe('X');
    expect(reads).toEqual(['x', 'missing', 'missing', 'x']);
  });

  it('keeps at most maxEntries, the oldest giving way', () => {
    const reads: string[] = [];
    const cache = new ReadModelCache<string, string>(() => 'v', 2);
    const read = (key: string) => {
      reads.push(key);
      return key;
    };
    for (const key of ['a', 'b', 'c', 'b', 'a']) cache.get(key, read);
    expect(reads).toEqual(['a', 'b', 'c', 'a']);
  });
});
