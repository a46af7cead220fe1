/**
 * The in-memory transaction log behind the EventStoreDB double. It outlives the gRPC server
 * so that a stopped and restarted double still holds everything that was acknowledged.
 */

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
  | { kind: 'wrong_expected_version'; currentRevision: number | null };

export type LogListener = (events: readonly StoredEvent[]) => void;

/** Gap between consecutive positions, so positions look like byte offsets rather than indexes. */
const POSITION_STRIDE = 137n;
const TICKS_PER_MILLISECOND = 10_000n;

export class EsdbLog {
  private readonly all: StoredEvent[] = [];
  private readonly streams = new Map<string, StoredEvent[]>();
  private readonly listeners = new Set<LogListener>();
  private nextPosition = 1_024n;

  /** Appends atomically with EventStoreDB's expected-version and idempotency rules. */
  append(streamName: string, expected: ExpectedStreamState, proposed: readonly ProposedEvent[]): AppendOutcome {
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

  /** Every event in log order. */
  events(): readonly StoredEvent[] {
    return this.all;
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
