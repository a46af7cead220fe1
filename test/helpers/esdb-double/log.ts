/**
 * The in-memory transaction log behind the EventStoreDB double. It outlives the gRPC server
 * so that a stopped and restarted double still holds everything that was acknowledged.
 */

import { randomUUID } from 'node:crypto';

export interface StoredEvent {
  streamName: string;
  revision: number;
  /** Commit and prepare position; equal, as for every event written by a gRPC append. */
  position: bigint;
  id: string;
  type: string;
  contentType: string;
  /** .NET ticks since the Unix epoch, as the server reports `created`. */
  createdTicks: bigint;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

export interface ProposedEvent {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

export type ExpectedStreamState =
  | { kind: 'any' }
  | { kind: 'no_stream' }
  | { kind: 'stream_exists' }
  | { kind: 'revision'; revision: number };

export type AppendOutcome =
  | { kind: 'success'; currentRevision: number | null; position: bigint | null }
  | { kind: 'wrong_expected_version'; currentRevision: number | null }
  | { kind: 'stream_deleted' };

export type DeleteOutcome =
  | { kind: 'success'; position: bigint }
  | { kind: 'wrong_expected_version'; currentRevision: number | null }
  | { kind: 'stream_deleted' };

/** What a stream read sees: its events after deletions and metadata limits, none, or a tombstone. */
export type StreamView = readonly StoredEvent[] | 'not_found' | 'deleted';

export type LogListener = (events: readonly StoredEvent[]) => void;

/** Gap between consecutive positions, so positions look like byte offsets rather than indexes. */
const POSITION_STRIDE = 137n;
const TICKS_PER_MILLISECOND = 10_000n;

/**
 * Stands in for a scavenged event, so that the revision numbering (the index in a stream) and the
 * expected-version checks stay as they were; no read returns it.
 */
const SCAVENGED: StoredEvent = Object.freeze({
  streamName: '',
  revision: -1,
  position: -1n,
  id: '00000000-0000-0000-0000-000000000000',
  type: '$scavenged',
  contentType: 'application/octet-stream',
  createdTicks: 0n,
  data: new Uint8Array(),
  customMetadata: new Uint8Array(),
});

export class EsdbLog {
  private readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly listeners = new Set<LogListener>();
  private readonly tombstoned = new Set<string>();
  /** Soft deletion: revisions below this are gone, and the stream reads as missing until written again. */
  private readonly deletedBefore = new Map<string, number>();
  private nextPosition = 1_024n;

  /** Appends atomically with EventStoreDB's expected-version and idempotency rules. */
  append(streamName: string, expected: ExpectedStreamState, proposed: readonly ProposedEvent[]): AppendOutcome {
    if (this.tombstoned.has(streamName)) return { kind: 'stream_deleted' };
    const stream = this.streams.get(streamName) ?? [];
    const current = stream.length - 1;

    const replay = this.idempotentReplay(stream, expected, proposed);
    if (replay === 'conflict') return { kind: 'wrong_expected_version', currentRevision: current < 0 ? null : current };
    if (replay) return { kind: 'success', currentRevision: replay.revision, position: replay.position };

    const holds =
      expected.kind === 'any' ||
      (expected.kind === 'no_stream' && current === -1) ||
      (expected.kind === 'stream_exists' && current >= 0) ||
      (expected.kind === 'revision' && current === expected.revision);
    if (!holds) return { kind: 'wrong_expected_version', currentRevision: current < 0 ? null : current };

    if (proposed.length === 0) {
      return { kind: 'success', currentRevision: current < 0 ? null : current, position: null };
    }

    const createdTicks = BigInt(Date.now()) * TICKS_PER_MILLISECOND;
    const written = proposed.map((event, index): StoredEvent => {
      const position = this.nextPosition;
      this.nextPosition += POSITION_STRIDE;
      return { ...event, streamName, revision: current + 1 + index, position, createdTicks };
    });
    stream.push(...written);
    this.streams.set(streamName, stream);
    this.all.push(...written);
    for (const listener of [...this.listeners]) listener(written);
    const last = written[written.length - 1];
    return { kind: 'success', currentRevision: last.revision, position: last.position };
  }

  stream(streamName: string): readonly StoredEvent[] | undefined {
    return this.streams.get(streamName);
  }

  /**
   * The stream as a read sees it: a tombstone, or the events that neither a soft delete nor the
   * `$maxCount` / `$tb` of its metadata stream (`$$<name>`) hide. Hidden events stay in the log
   * until `scavenge`, as on a real server.
   */
  view(streamName: string): StreamView {
    if (this.tombstoned.has(streamName)) return 'deleted';
    const stored = this.streams.get(streamName) ?? [];
    let from = this.deletedBefore.get(streamName) ?? 0;
    const metadata = this.metadataOf(streamName);
    if (typeof metadata.$tb === 'number') from = Math.max(from, metadata.$tb);
    if (typeof metadata.$maxCount === 'number') from = Math.max(from, stored.length - metadata.$maxCount);
    const visible = stored.slice(from);
    return visible.length === 0 ? 'not_found' : visible;
  }

  /** `Tombstone` (hard) or `Delete` (soft), with the same expected-version rule as an append. */
  delete(streamName: string, expected: ExpectedStreamState, hard: boolean): DeleteOutcome {
    if (this.tombstoned.has(streamName)) return { kind: 'stream_deleted' };
    const stream = this.streams.get(streamName) ?? [];
    const current = stream.length - 1;
    const holds =
      expected.kind === 'any' ||
      (expected.kind === 'no_stream' && current === -1) ||
      (expected.kind === 'stream_exists' && current >= 0) ||
      (expected.kind === 'revision' && current === expected.revision);
    if (!holds) return { kind: 'wrong_expected_version', currentRevision: current < 0 ? null : current };
    if (!hard) {
      this.deletedBefore.set(streamName, stream.length);
      return { kind: 'success', position: this.nextPosition - POSITION_STRIDE };
    }
    this.tombstoned.add(streamName);
    // The server records a tombstone as a `$streamDeleted` event of the stream, at revision int64.MaxValue.
    const position = this.nextPosition;
    this.nextPosition += POSITION_STRIDE;
    const tombstone: StoredEvent = {
      streamName,
      revision: Number.MAX_SAFE_INTEGER,
      position,
      id: randomUUID(),
      type: '$streamDeleted',
      contentType: 'application/octet-stream',
      createdTicks: BigInt(Date.now()) * TICKS_PER_MILLISECOND,
      data: new Uint8Array(),
      customMetadata: new Uint8Array(),
    };
    this.all.push(tombstone);
    for (const listener of [...this.listeners]) listener([tombstone]);
    return { kind: 'success', position };
  }

  /** Physically drops what reads no longer see: tombstoned streams' events and hidden revisions. */
  scavenge(): void {
    const kept = new Set<StoredEvent>();
    for (const [name, stored] of this.streams) {
      const view = this.view(name);
      const visible = view === 'deleted' ? [] : view === 'not_found' ? [] : view;
      for (const event of visible) kept.add(event);
      if (visible.length < stored.length) this.streams.set(name, [...stored.slice(0, stored.length - visible.length).map(() => SCAVENGED), ...visible]);
    }
    const remaining = this.all.filter((event) => kept.has(event) || event.type === '$streamDeleted' || !this.streams.has(event.streamName));
    this.all.splice(0, this.all.length, ...remaining);
  }

  /** Every event in log order. */
  events(): readonly StoredEvent[] {
    return this.all;
  }

  private metadataOf(streamName: string): Record<string, unknown> {
    const last = this.streams.get(`$$${streamName}`)?.at(-1);
    if (!last) return {};
    try {
      const parsed: unknown = JSON.parse(Buffer.from(last.data).toString('utf8'));
      return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * EventStoreDB treats a write whose event ids match the events already stored right after the
   * expected revision as a retry of that write: it succeeds without writing anything. A partial
   * match is a conflict.
   */
  private idempotentReplay(
    stream: readonly StoredEvent[],
    expected: ExpectedStreamState,
    proposed: readonly ProposedEvent[],
  ): StoredEvent | 'conflict' | null {
    if (proposed.length === 0) return null;
    let first: number;
    if (expected.kind === 'revision') first = expected.revision + 1;
    else if (expected.kind === 'no_stream') first = 0;
    else if (expected.kind === 'any') {
      first = stream.findIndex((event) => event.id === proposed[0].id);
      if (first < 0) return null;
    } else return null;

    const matching = proposed.filter((event, index) => stream[first + index]?.id === event.id).length;
    if (matching === proposed.length) return stream[first + proposed.length - 1];
    return matching > 0 ? 'conflict' : null;
  }
}
