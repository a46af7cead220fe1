import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EventStore, RecordedEvent } from '../../src/eventstore/port';
import { SqliteEventStore } from '../../src/eventstore/sqlite';
import { CHAIN_HASH_LENGTH, storedEntryOf, type StoredEntry } from './audit-entry';

/**
 * What a replay or a catch-up of the audit history needs to compute its entries beside it, on
 * a worker thread: the SQLite log it applies (the worker reads it on a connection of its own)
 * and the keys the entries' fingerprints are made with.
 */
export interface AuditReplaySource {
  eventsPath: string;
  auditKey: Buffer;
  lookupPepper: Buffer;
  /** The worker's compiled script: by default the one built beside this module. */
  workerScript?: string;
  /** Told when the worker fails or its entries do not match the replay's events. */
  logger?: { warn(obj: object, msg: string): void };
}

/** The source for a replay from `store`, when the worker can read its log: a SQLite log in a file. */
export function auditReplaySource(
  store: EventStore,
  keys: { auditKey: Buffer; lookupPepper: Buffer },
  logger?: AuditReplaySource['logger'],
): AuditReplaySource | undefined {
  const eventsPath = store instanceof SqliteEventStore ? store.filePath : null;
  return eventsPath === null ? undefined : { eventsPath, auditKey: keys.auditKey, lookupPepper: keys.lookupPepper, logger };
}

/** What the worker is started with. */
export interface AuditWorkerData {
  eventsPath: string;
  auditKey: Uint8Array;
  lookupPepper: Uint8Array;
  /** The event types the audit projection applies: the worker computes entries for these alone. */
  eventTypes: readonly string[];
  /** The log position (decimal) after which the worker reads, or null: from the start of the log. */
  after: string | null;
  /** The chains' heads at `after`, as [chain, hash]; a chain not listed starts from GENESIS_HASH. */
  heads: Array<[string, string]>;
  /** [0]: chunks the replay has used up; [1]: 1 once the replay no longer wants any. */
  progress: Int32Array;
  chunkEvents: number;
  windowChunks: number;
}

/**
 * A chunk of entries from the worker, packed so that passing it to the replay's thread costs
 * little there: its texts in one transferred buffer and its numbers in typed arrays, instead
 * of an object per entry or one long string, which the replay's heap would have to copy in and
 * collect again. Each entry's row is read from its event on the replay's thread (see
 * storedEntryOf); the worker sends what the event alone does not say.
 */
export interface AuditWorkerChunk {
  /** Per entry, the position of its event. */
  positions: BigInt64Array<ArrayBuffer>;
  /**
   * Per entry, in UTF-8, one after another: its event's id, the hash it was chained to (its
   * chain's head before it) and its own chain hash (CHAIN_HASH_LENGTH bytes each), and its
   * canonical text.
   */
  text: Uint8Array<ArrayBuffer>;
  /** Per entry, where its event id ends in `text`, then where its canonical text ends. */
  bounds: Uint32Array<ArrayBuffer>;
  /** Per entry, how many of `fingerprints` are its, in order. */
  fingerprintCounts: Uint16Array<ArrayBuffer>;
  fingerprints: string[];
  /** The last position the worker read for this chunk. */
  last: bigint;
}

/** The buffers a chunk's message transfers instead of copying. */
export function chunkTransfers(chunk: AuditWorkerChunk): ArrayBuffer[] {
  return [chunk.positions.buffer, chunk.text.buffer, chunk.bounds.buffer, chunk.fingerprintCounts.buffer];
}

export type AuditWorkerMessage = { chunk: AuditWorkerChunk } | { end: true };

/** Where a worker starts other than at the start of the log: after `after`, with each chain's head there. */
export interface AuditEntriesFrom {
  after: bigint;
  heads: ReadonlyMap<string, string>;
}

/** Events of the log per chunk the worker sends. */
const CHUNK_EVENTS = 500;
/**
 * Chunks the worker may compute ahead of the replay, which bounds the memory they hold. A
 * replay waits for the entries of a whole batch before applying it, so a batch must fit in
 * the window with a chunk to spare, or the two would wait for each other (see prepare).
 */
const WINDOW_CHUNKS = 24;
const MAX_BATCH_EVENTS = (WINDOW_CHUNKS - 1) * CHUNK_EVENTS;
/** How long a replay waits for the entries of a batch (a chunk takes the worker milliseconds). */
const STALLED_WORKER_MS = 10_000;

/**
 * The worker's heap: what it keeps beyond the chunk it computes is a chain head per tenant. Its
 * young generation is smaller than a thread's default, so the worker adds little to a replay's
 * peak memory (which comes later, when the replay builds its indexes and the worker has ended).
 * At 4 MB it collected about 5,000 times in a million-event replay, 3.3 s of the worker's
 * time; at 16 MB, about 1,150 times in 1.0 s. A worker that ran out of heap would end, and the
 * replay compute its entries.
 */
const WORKER_HEAP_LIMITS = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 32 };

/** Builds a chunk on the worker, entry by entry. */
export class ChunkWriter {
  private readonly positions: BigInt64Array<ArrayBuffer>;
  private readonly bounds: Uint32Array<ArrayBuffer>;
  private readonly counts: Uint16Array<ArrayBuffer>;
  private readonly fingerprints: string[] = [];
  // Not from Buffer's shared pool: its memory is transferred to the replay's thread.
  private text = Buffer.allocUnsafeSlow(CHUNK_TEXT_BYTES);
  private entries = 0;
  private bytes = 0;

  constructor(capacity: number) {
    this.positions = new BigInt64Array(capacity);
    this.bounds = new Uint32Array(2 * capacity);
    this.counts = new Uint16Array(capacity);
  }

  add(event: RecordedEvent, previous: string, hash: string, canonical: string, fingerprints: readonly string[]): void {
    if (previous.length !== CHAIN_HASH_LENGTH || hash.length !== CHAIN_HASH_LENGTH) throw new Error('chain hash of unexpected length');
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    this.reserve(3 * (event.id.length + previous.length + hash.length + canonical.length));
    const at = this.entries++;
    this.positions[at] = event.position;
    this.bytes += this.text.write(event.id, this.bytes, 'utf8');
    this.bounds[2 * at] = this.bytes;
    this.bytes += this.text.write(previous, this.bytes, 'latin1');
    this.bytes += this.text.write(hash, this.bytes, 'latin1');
    this.bytes += this.text.write(canonical, this.bytes, 'utf8');
    this.bounds[2 * at + 1] = this.bytes;
    this.counts[at] = fingerprints.length;
    for (const fingerprint of fingerprints) this.fingerprints.push(fingerprint);
  }

  finish(last: bigint): AuditWorkerChunk {
    const n = this.entries;
    return {
      positions: this.positions.slice(0, n),
      text: new Uint8Array(this.text.buffer, this.text.byteOffset, this.bytes),
      bounds: this.bounds.slice(0, 2 * n),
      fingerprintCounts: this.counts.slice(0, n),
      fingerprints: this.fingerprints,
      last,
    };
  }

  private reserve(bytes: number): void {
    if (this.bytes + bytes <= this.text.length) return;
    const larger = Buffer.allocUnsafeSlow(Math.max(2 * this.text.length, this.bytes + bytes));
    this.text.copy(larger, 0, 0, this.bytes);
    this.text = larger;
  }
}

/** Bytes a chunk's texts start with room for: an entry's canonical text is a few hundred bytes. */
const CHUNK_TEXT_BYTES = 512 * 1024;

/** A chunk as the replay's thread keeps it: its texts readable as a Buffer. */
type ReceivedChunk = Omit<AuditWorkerChunk, 'text'> & { text: Buffer };

/**
 * Audit entries of a replay from empty or of a long catch-up, computed ahead of it on a worker
 * thread: the redaction, the fingerprints, the canonical text and the chain hash of every
 * event, which are most of the replay's work for the audit history besides writing it, while
 * the replay's own thread writes the read models. The worker reads the same log in the same
 * order, from where the replay starts, and chains from the heads the read models held there
 * (none for a replay from empty), so each entry is the one the replay would compute. The
 * replay still checks every entry against what it applies: its event id and position, and the
 * hash it was chained to against its chain's head in the read models. Whatever the worker does
 * not deliver (it failed, it reached the end of the log before the replay did, an entry does
 * not match) the replay computes itself.
 */
export class AuditEntriesAhead {
  private readonly worker: Worker;
  private readonly progress = new Int32Array(new SharedArrayBuffer(8));
  private readonly chunks: ReceivedChunk[] = [];
  /** Entries of chunks[0] already taken, and their fingerprints. */
  private taken = 0;
  private fingerprintsTaken = 0;
  /** Last log position the worker has read, or -1. */
  private received = -1n;
  /** The worker sends no more. */
  private ended = false;
  private waiting: { position: bigint; resolve: () => void; timer: NodeJS.Timeout } | null = null;
  private readonly logger: AuditReplaySource['logger'];

  /**
   * Starts the worker, or returns null when there is no compiled worker script (the code runs
   * from its sources). By default it reads from the start of the log with every chain empty;
   * `from` starts it after a position, with the chains' heads there.
   */
  static start(source: AuditReplaySource, eventTypes: readonly string[], from?: AuditEntriesFrom): AuditEntriesAhead | null {
    const script = source.workerScript ?? join(__dirname, 'audit-entries-worker.js');
    return existsSync(script) ? new AuditEntriesAhead(script, source, eventTypes, from) : null;
  }

  private constructor(script: string, source: AuditReplaySource, eventTypes: readonly string[], from?: AuditEntriesFrom) {
    this.logger = source.logger;
    const workerData: AuditWorkerData = {
      eventsPath: source.eventsPath,
      auditKey: source.auditKey,
      lookupPepper: source.lookupPepper,
      eventTypes,
      after: from ? from.after.toString() : null,
      heads: from ? [...from.heads] : [],
      progress: this.progress,
      chunkEvents: CHUNK_EVENTS,
      windowChunks: WINDOW_CHUNKS,
    };
    this.worker = new Worker(script, { workerData, resourceLimits: WORKER_HEAP_LIMITS });
    // The process's exit does not wait for it: close() ends it.
    this.worker.unref();
    this.worker.on('message', (message: AuditWorkerMessage) => {
      if ('end' in message) this.finish();
      else this.receive(message.chunk);
    });
    // A worker that failed sends nothing more; the replay computes the rest of the entries itself.
    this.worker.on('error', (error) => {
      this.logger?.warn({ err: error }, 'the audit entries worker failed; the replay computes the rest itself');
      this.finish();
    });
    this.worker.on('exit', () => this.finish());
  }

  /** Resolves once the worker has sent the entries of every event of `events`, or will send no more. */
  prepare(events: readonly RecordedEvent[]): Promise<void> | void {
    if (events.length === 0) return;
    // Entries of events before the batch will not be taken (the runner passed over them: another
    // process had applied them); dropped now, they make room for the worker to go on.
    this.passOver(events[0].position);
    if (this.ended) return;
    if (events.length > MAX_BATCH_EVENTS) {
      this.close();
      return;
    }
    const position = events[events.length - 1].position;
    if (this.received >= position) return;
    return new Promise((resolve) => {
      // A worker that has not reached the batch by then is given up rather than waited for without end.
      const timer = setTimeout(() => {
        this.logger?.warn({ position: position.toString() }, 'the audit entries worker fell silent; the replay computes the rest itself');
        this.close();
      }, STALLED_WORKER_MS);
      this.waiting = { position, resolve, timer };
    });
  }

  /** True once the worker sends no more entries (it reached the end of the log, failed, or was closed). */
  get done(): boolean {
    return this.ended && this.chunks.length === 0;
  }

  /**
   * The entry computed for `event`, chained to `headOf(chain)` (its chain's head in the read
   * models), or undefined: the replay computes it itself.
   */
  take(event: RecordedEvent, headOf: (chain: string) => string): StoredEntry | undefined {
    for (;;) {
      const chunk = this.chunks[0];
      if (chunk === undefined) return undefined;
      const position = chunk.positions[this.taken];
      // Entries of events the replay has applied without them (it could not wait for them, or another process applied them) are passed over.
      if (position < event.position) {
        this.advance(chunk);
        continue;
      }
      const idStart = this.taken === 0 ? 0 : chunk.bounds[2 * this.taken - 1];
      const idEnd = chunk.bounds[2 * this.taken];
      if (position > event.position || chunk.text.toString('utf8', idStart, idEnd) !== event.id) {
        // Not the log the replay reads: nothing more from the worker is used.
        this.logger?.warn({ position: event.position.toString() }, 'the audit entries worker read other events than the replay; the replay computes the rest itself');
        this.close();
        return undefined;
      }
      const previousEnd = idEnd + CHAIN_HASH_LENGTH;
      const hashEnd = previousEnd + CHAIN_HASH_LENGTH;
      const count = chunk.fingerprintCounts[this.taken];
      const fingerprints = count === 0 ? [] : chunk.fingerprints.slice(this.fingerprintsTaken, this.fingerprintsTaken + count);
      const hash = chunk.text.toString('latin1', previousEnd, hashEnd);
      // The text stays bytes: decoding it here, and encoding it again for SQLite, cost the replay's thread more than the insert.
      const entry = storedEntryOf(event, hash, chunk.text.subarray(hashEnd, chunk.bounds[2 * this.taken + 1]), fingerprints);
      if (chunk.text.toString('latin1', idEnd, previousEnd) !== headOf(entry.chain)) {
        // Chained to another head than the read models hold (another process wrote other entries meanwhile): nothing more from the worker is used.
        this.logger?.warn({ position: event.position.toString() }, 'the audit entries worker chained from other heads than the read models hold; the replay computes the rest itself');
        this.close();
        return undefined;
      }
      this.advance(chunk);
      return entry;
    }
  }

  /** Ends the worker; the replay computes every later entry itself. */
  close(): void {
    this.chunks.length = 0;
    Atomics.store(this.progress, 1, 1);
    Atomics.notify(this.progress, 0);
    this.finish();
    void this.worker.terminate().catch(() => undefined);
  }

  /** Drops the entries of events before `position`. */
  private passOver(position: bigint): void {
    for (;;) {
      const chunk = this.chunks[0];
      if (chunk === undefined || chunk.positions[this.taken] >= position) return;
      this.advance(chunk);
    }
  }

  private advance(chunk: ReceivedChunk): void {
    this.fingerprintsTaken += chunk.fingerprintCounts[this.taken];
    if (++this.taken < chunk.positions.length) return;
    this.chunks.shift();
    this.taken = 0;
    this.fingerprintsTaken = 0;
    this.consumed();
  }

  private consumed(): void {
    Atomics.add(this.progress, 0, 1);
    Atomics.notify(this.progress, 0);
  }

  private receive(chunk: AuditWorkerChunk): void {
    if (this.ended) return;
    this.received = chunk.last;
    if (chunk.positions.length > 0) this.chunks.push({ ...chunk, text: Buffer.from(chunk.text.buffer, chunk.text.byteOffset, chunk.text.byteLength) });
    else this.consumed();
    if (this.waiting !== null && this.received >= this.waiting.position) this.wake();
  }

  private finish(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting === null) return;
    clearTimeout(waiting.timer);
    waiting.resolve();
  }
}
