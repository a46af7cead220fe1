import type { Database } from 'better-sqlite3';

/**
 * Versions of the read models, for the caches in front of them (principals, secret lookups,
 * usage controls): a cache drops what it holds when its version changes.
 */
export interface ReadModelVersions {
  /**
   * SQLite's `data_version`: changes whenever another connection, in this process or
   * another, commits. Read at most once per turn of the event loop (see below).
   */
  ofOtherConnections(): number;
  /** Changes whenever anything may have changed: `ofOtherConnections` and this connection's own writes (projections, usage flushes). */
  ofAll(): string;
}

const versionsByConnection = new WeakMap<Database, ReadModelVersions>();

/**
 * The read-model versions of a connection, one object per connection so that every cache of
 * the process shares one reading.
 *
 * `PRAGMA data_version` opens a read transaction of its own (shared-memory locks and a check
 * of the WAL), the dearest step of a cached verification, which consults several caches. It
 * is read once and kept until the work already queued when it was read has run: the
 * microtasks of the current callback, up to the next `process.nextTick` drain. That is
 * causally safe: no new request, and no answer of another process, reaches the event loop
 * before it turns, so every request the kept reading serves had arrived before it was taken,
 * and whatever another process had acknowledged by then is in it. A later reading is only
 * fresher. This connection's own writes are counted with `total_changes()`, read every time:
 * it touches no page and takes no lock.
 */
export function readModelVersionsOf(db: Database): ReadModelVersions {
  const existing = versionsByConnection.get(db);
  if (existing) return existing;
  const dataVersion = db.prepare('PRAGMA data_version').pluck();
  const ownChanges = db.prepare('SELECT total_changes()').pluck();
  let held: number | null = null;
  const forget = () => {
    held = null;
  };
  const ofOtherConnections = (): number => {
    if (held === null) {
      held = dataVersion.get() as number;
      process.nextTick(forget);
    }
    return held;
  };
  const versions: ReadModelVersions = {
    ofOtherConnections,
    ofAll: () => `${ownChanges.get() as number}:${ofOtherConnections()}`,
  };
  versionsByConnection.set(db, versions);
  return versions;
}

/**
 * Values read from the read models, per process, kept only while `version` is unchanged: any
 * write to the read models empties it before the next lookup. The oldest entry gives way when
 * it is full. Values may be null (a row that is not there), never undefined: that is how a key
 * not kept reads, so a kept value costs one lookup.
 */
export class ReadModelCache<K, V extends NonNullable<unknown> | null> {
  private readonly entries = new Map<K, V>();
  private seenVersion: string | null = null;

  constructor(
    private readonly version: () => string,
    private readonly maxEntries = 10_000,
  ) {}

  /** The kept value of `key`, or `read(key)`, kept unless `keep` says otherwise. */
  get(key: K, read: (key: K) => V, keep: (value: V) => boolean = () => true): V {
    const version = this.version();
    if (version !== this.seenVersion) {
      this.entries.clear();
      this.seenVersion = version;
    }
    const kept = this.entries.get(key);
    if (kept !== undefined) return kept;
    const value = read(key);
    if (!keep(value)) return value;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
    return value;
  }
}
