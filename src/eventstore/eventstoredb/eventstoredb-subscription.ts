import {
  START,
  eventTypeFilter,
  excludeSystemEvents,
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type EventStoreDBClient,
  type Filter,
} from '@eventstore/db-client';
import {
  EventStoreUnavailableError,
  type EventSubscription,
  type RecordedEvent,
  type SubscribeOptions,
  type SubscriptionMessage,
} from '../port';
import type { EventStoreDbLogger } from './eventstoredb-event-store';
import { isPermanentFailure, isSystemEvent, toRecordedEvent, translateError } from './mapping';

export interface SubscriptionDependencies {
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  logger: EventStoreDbLogger;
  onClose(subscription: EventStoreDbSubscription): void;
}

type Queued =
  | { kind: 'event'; event: RecordedEvent }
  | { kind: 'caughtUp'; position: bigint | null }
  | { kind: 'disconnected'; error: Error }
  | { kind: 'failed'; error: Error };

const DEFAULT_MAX_BATCH_SIZE = 256;

/**
 * A catch-up subscription to `$all` that survives connection loss. The client does not
 * resubscribe after a drop, so this does: from the last position it has taken in, with
 * exponential backoff, dropping anything at or before that position should the server
 * replay it.
 */
export class EventStoreDbSubscription implements EventSubscription {
  private readonly queue: Queued[] = [];
  private readonly wakers: Array<() => void> = [];
  private readonly maxBatchSize: number;
  private readonly eventTypes: ReadonlySet<string> | null;
  private readonly filter: Filter;
  /** Pause the feed above this many undelivered events, resume below half of it. */
  private readonly highWaterMark: number;
  private queuedEvents = 0;
  /** Everything up to here has been taken in (queued or deliberately skipped), in log order. */
  private resumeFrom: bigint | null;
  private lastQueuedPosition: bigint | null;
  private current: { feed: AllStreamSubscription; detach(): void } | null = null;
  private paused = false;
  /** The current feed has passed its caught-up marker: events come as they are appended. */
  private live = false;
  private failedAttempts = 0;
  private outageReported = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly client: EventStoreDBClient,
    options: SubscribeOptions,
    private readonly deps: SubscriptionDependencies,
  ) {
    const { fromPosition = null, eventTypes, maxBatchSize = DEFAULT_MAX_BATCH_SIZE } = options;
    if (!Number.isSafeInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    if (fromPosition !== null && fromPosition < 0n) throw new RangeError(`fromPosition must not be negative, got ${fromPosition}`);
    this.maxBatchSize = maxBatchSize;
    this.highWaterMark = Math.max(2 * maxBatchSize, 256);
    this.eventTypes = eventTypes ? new Set(eventTypes) : null;
    this.filter = eventTypes ? eventTypeFilter({ regex: exactAlternatives(eventTypes) }) : excludeSystemEvents();
    this.resumeFrom = fromPosition;
    this.lastQueuedPosition = fromPosition;
    this.open();
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    return {
      next: () => this.next(),
      return: async () => {
        await this.close();
        return { done: true, value: undefined };
      },
    };
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
      this.queue.length = 0;
      this.wake();
      this.deps.onClose(this);
      await this.release();
    })();
    return this.closing;
  }

  private async next(): Promise<IteratorResult<SubscriptionMessage>> {
    for (;;) {
      if (this.closing) return { done: true, value: undefined };
      await this.gatherBatch();
      if (this.closing) return { done: true, value: undefined };
      const message = this.take();
      if (message) return { done: false, value: message };
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
  }

  /*
   * The client hands over events one `data` callback at a time. Taking the queue at the first
   * one makes a catch-up a transaction per handful of events; waiting turns of the loop while
   * events keep arriving gathers them into batches of up to maxBatchSize. Once live, an event
   * waits one turn at most, so a steady stream of appends cannot hold back read-your-writes.
   */
  private async gatherBatch(): Promise<void> {
    let queued = -1;
    while (
      !this.closing &&
      this.queue[0]?.kind === 'event' &&
      this.queuedEvents < this.maxBatchSize &&
      this.queuedEvents !== queued &&
      !this.paused
    ) {
      if (queued !== -1 && this.live) return;
      queued = this.queuedEvents;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private take(): SubscriptionMessage | null {
    const head = this.queue[0];
    if (!head) return null;
    if (head.kind !== 'event') {
      this.queue.shift();
      if (head.kind === 'failed') {
        void this.close();
        throw head.error;
      }
      return head.kind === 'caughtUp' ? { type: 'caughtUp', position: head.position } : { type: 'disconnected', error: head.error };
    }
    const events: RecordedEvent[] = [];
    while (events.length < this.maxBatchSize && this.queue[0]?.kind === 'event') {
      events.push((this.queue.shift() as { event: RecordedEvent }).event);
    }
    this.queuedEvents -= events.length;
    if (this.paused && this.queuedEvents <= this.highWaterMark / 2) {
      this.paused = false;
      this.current?.feed.resume();
    }
    return { type: 'events', events };
  }

  private enqueue(item: Queued): void {
    this.queue.push(item);
    this.wake();
  }

  private wake(): void {
    for (const wake of this.wakers.splice(0)) wake();
  }

  private open(): void {
    if (this.closing) return;
    const start = this.resumeFrom;
    const feed = this.client.subscribeToAll({
      fromPosition: start === null ? START : { commit: start, prepare: start },
      filter: this.filter,
      resolveLinkTos: false,
    });
    // The client announces `caughtUp` when the marker passes its transform, possibly before
    // the events ahead of it were emitted; count those down first so the marker stays in order.
    let aheadOfCaughtUp = -1;
    // A server that lets a slow subscriber fall behind catches it up again and says so a
    // second time; the port promises one `caughtUp` per (re)start.
    let caughtUpSeen = false;
    const onData = (resolved: AllStreamResolvedEvent) => {
      try {
        this.takeIn(resolved);
      } catch (error) {
        this.dropped(feed, error as Error);
        return;
      }
      if (aheadOfCaughtUp > 0 && --aheadOfCaughtUp === 0) this.caughtUp();
    };
    const onCaughtUp = () => {
      if (caughtUpSeen) return;
      caughtUpSeen = true;
      aheadOfCaughtUp = feed.readableLength;
      if (aheadOfCaughtUp === 0) this.caughtUp();
    };
    const onError = (error: Error) => this.dropped(feed, error);
    const onEnd = () => this.dropped(feed, new EventStoreUnavailableError('EventStoreDB ended the subscription to $all'));
    feed.on('data', onData).on('caughtUp', onCaughtUp).on('error', onError).on('end', onEnd);
    this.current = {
      feed,
      detach: () => {
        feed.off('data', onData).off('caughtUp', onCaughtUp).off('error', onError).off('end', onEnd);
        // A late error from the abandoned call must not go unhandled.
        feed.on('error', () => {});
      },
    };
    this.paused = false;
    this.live = false;
  }

  private takeIn(resolved: AllStreamResolvedEvent): void {
    const event = resolved.event;
    if (!event) return;
    const position = event.position.commit;
    if (this.resumeFrom !== null && position <= this.resumeFrom) return;
    this.resumeFrom = position;
    this.failedAttempts = 0;
    if (isSystemEvent(event)) return;
    if (this.eventTypes && !this.eventTypes.has(event.type)) return;
    this.lastQueuedPosition = position;
    this.queuedEvents += 1;
    this.enqueue({ kind: 'event', event: toRecordedEvent(event) });
    if (!this.paused && this.queuedEvents >= this.highWaterMark) {
      this.paused = true;
      this.current?.feed.pause();
    }
  }

  private caughtUp(): void {
    this.live = true;
    if (this.outageReported) this.deps.logger.info({ position: this.resumeFrom?.toString() ?? null }, 'EventStoreDB subscription resumed');
    this.outageReported = false;
    this.failedAttempts = 0;
    this.enqueue({ kind: 'caughtUp', position: this.lastQueuedPosition });
  }

  private dropped(feed: AllStreamSubscription, error: Error): void {
    if (this.current?.feed !== feed) return;
    void this.release();
    if (this.closing) return;

    if (isPermanentFailure(error)) {
      this.enqueue({ kind: 'failed', error: translateError('subscription to $all', error) });
      return;
    }
    const delayMs = Math.min(this.deps.reconnect.initialDelayMs * 2 ** this.failedAttempts, this.deps.reconnect.maxDelayMs);
    this.failedAttempts += 1;
    const unavailable = translateError('subscription to $all', error);
    this.deps.logger.warn(
      { err: unavailable, resumeFrom: this.resumeFrom?.toString() ?? null, attempt: this.failedAttempts, retryInMs: delayMs },
      'EventStoreDB subscription dropped; reconnecting',
    );
    if (!this.outageReported) {
      this.outageReported = true;
      this.enqueue({ kind: 'disconnected', error: unavailable });
    }
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delayMs);
  }

  /** Stop listening to the current feed and cancel its call. */
  private release(): Promise<void> {
    const current = this.current;
    this.current = null;
    if (!current) return Promise.resolve();
    current.detach();
    return current.feed.unsubscribe().catch(() => {});
  }
}

/** A server-side filter matching exactly these event types (the client offers prefixes or a regex). */
function exactAlternatives(eventTypes: readonly string[]): string {
  if (eventTypes.length === 0) return '(?!)';
  return `^(?:${eventTypes.map((type) => type.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`;
}
