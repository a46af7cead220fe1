import { timeOrderedUuid } from '../crypto/time-ordered-uuid';
import { KeyledgerError } from '../domain/errors';
import {
  EventStoreUnavailableError,
  WrongExpectedRevisionError,
  type AppendResult,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type RecordedEvent,
} from '../eventstore/port';
import type { Logger } from '../logger';

export interface DomainEvent {
  type: string;
  data: object;
}

/** Waits until the local read models hold a log position. */
export interface ReadModelProgress {
  waitForPosition(position: bigint, timeoutMs: number): Promise<boolean>;
}

export interface LoadedStream<State> {
  state: State;
  /** Revision to expect on append: the last event's revision, or 'no_stream'. */
  revision: ExpectedRevision;
  /** Global position of the stream's last event, or null for an empty stream. */
  position: bigint | null;
}

const MAX_ATTEMPTS = 3;

/**
 * Runs a command against one stream: load and fold its events, decide, append with the
 * loaded revision as the expected one, then wait for the local read models
 * (read-your-writes). A concurrent writer makes the append fail; the command is then
 * decided again on the fresh state, which is safe because deciders are pure.
 */
export class EventWriter {
  constructor(
    private readonly store: EventStore,
    private readonly progress: ReadModelProgress,
    private readonly readYourWritesTimeoutMs: number,
    private readonly logger: Logger,
  ) {}

  async load<State, Event extends DomainEvent>(
    streamId: string,
    initial: State,
    evolve: (state: State, event: Event) => State,
  ): Promise<LoadedStream<State>> {
    const events = await this.guard(() => this.store.readStream(streamId));
    const state = events.reduce((current, event) => evolve(current, { type: event.type, data: event.data } as unknown as Event), initial);
    const last = events.at(-1);
    return { state, revision: last ? last.revision : 'no_stream', position: last ? last.position : null };
  }

  /**
   * Decide and append. `decide` returns the new events (possibly none). Returns the state
   * the decision was made on and the appended events' global position (null if none).
   */
  async execute<State, Event extends DomainEvent>(options: {
    streamId: string;
    initial: State;
    evolve: (state: State, event: Event) => State;
    decide: (state: State) => Event[];
    metadata: EventMetadata;
    /** Retry on a concurrent write. False for creations, where a conflict is the answer. */
    retryOnConflict?: boolean;
  }): Promise<{ state: State; events: Event[]; position: bigint | null }> {
    for (let attempt = 1; ; attempt++) {
      const { state, revision } = await this.load(options.streamId, options.initial, options.evolve);
      const events = options.decide(state);
      if (events.length === 0) return { state, events, position: null };
      try {
        const position = await this.append(options.streamId, events, options.metadata, revision);
        return { state, events, position };
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && options.retryOnConflict !== false && attempt < MAX_ATTEMPTS) continue;
        throw error;
      }
    }
  }

  /** Append events and wait until the local read models have applied them. */
  async append(streamId: string, events: readonly DomainEvent[], metadata: EventMetadata, expected: ExpectedRevision): Promise<bigint> {
    const result = await this.guard(() =>
      this.store.append(
        streamId,
        events.map((event) => ({ id: timeOrderedUuid(), type: event.type, data: event.data as Record<string, unknown>, metadata })),
        expected,
      ),
    );
    await this.waitForReadModels(streamId, result.position);
    return result.position;
  }

  /** Waits (bounded by the read-your-writes timeout) until the local read models hold `position`, appended here or by another replica. */
  async waitForReadModels(streamId: string, position: bigint): Promise<void> {
    const reached = await this.progress.waitForPosition(position, this.readYourWritesTimeoutMs);
    if (!reached) {
      this.logger.warn({ streamId, position: position.toString() }, 'read models did not reach an appended position in time');
    }
  }

  async readStream(streamId: string, fromRevision = 0): Promise<RecordedEvent[]> {
    return this.guard(() => this.store.readStream(streamId, fromRevision > 0 ? { fromRevision } : undefined));
  }

  /**
   * Appends without waiting for the read models, for records no read model shows at once
   * (a spend of credits is read back from its own stream). WrongExpectedRevisionError passes through.
   */
  async appendUnawaited(streamId: string, events: readonly DomainEvent[], metadata: EventMetadata, expected: ExpectedRevision): Promise<AppendResult> {
    return this.guard(() =>
      this.store.append(
        streamId,
        events.map((event) => ({ id: timeOrderedUuid(), type: event.type, data: event.data as Record<string, unknown>, metadata })),
        expected,
      ),
    );
  }

  /** The store being unreachable is the caller's business to know about, with a clear code. */
  private async guard<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) {
        // A write cut off mid-flight may still have been recorded, so the message does not claim otherwise.
        throw new KeyledgerError(
          'UNAVAILABLE',
          'The event store is unavailable and did not confirm the change. Check its effect before retrying a creation.',
        );
      }
      throw error;
    }
  }
}
