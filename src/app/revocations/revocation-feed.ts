import { KeyledgerError } from '../../domain/errors';
import type { EventStore, EventSubscription, RecordedEvent } from '../../eventstore/port';
import { NoticeStream } from './notice-stream';
import { NOTICE_EVENT_TYPES, revocationNoticeOf, type RevocationNotice } from './revocation-notice';

/** Where committed events come from: the process's projection runner. */
export interface CommittedEventSource {
  onEvents(listener: (events: readonly RecordedEvent[]) => void): () => void;
}

export interface RevocationFeedLogger {
  error(obj: object, msg: string): void;
}

export interface OpenNoticeStream {
  tenantId: string | null;
  afterPosition: bigint | null;
  /** The subscriber fell too far behind; close its connection. */
  onOverflow(): void;
}

export interface RevocationFeedStats {
  subscriptions: number;
  /** Longest queue any subscription holds now. */
  longestQueue: number;
  /** Longest queue any subscription has held since start. */
  peakQueue: number;
  slowConsumersDropped: number;
}

/**
 * Revocation notices for live subscribers. Notices come from the committed event feed, not
 * from the resolver that revoked, so a revocation appended by any process reaches the
 * subscribers of every process; a subscriber resuming from a position is first replayed
 * what it missed from the log itself.
 */
export class RevocationFeed {
  private readonly byTenant = new Map<string, Set<NoticeStream>>();
  private readonly everyTenant = new Set<NoticeStream>();
  private readonly listeners = new Set<(notice: RevocationNotice) => void>();
  private detach: (() => void) | null = null;
  private peakQueue = 0;
  private slowConsumersDropped = 0;
  private count = 0;

  constructor(
    private readonly store: EventStore,
    private readonly source: CommittedEventSource,
    readonly queueLimit: number,
    private readonly logger: RevocationFeedLogger,
  ) {}

  start(): void {
    this.detach ??= this.source.onEvents((events) => this.publish(events));
  }

  /** Ends every stream; their subscribers see the subscription complete. */
  stop(): void {
    this.detach?.();
    this.detach = null;
    const streams: NoticeStream[] = [];
    this.forEachStream((stream) => streams.push(stream));
    for (const stream of streams) stream.end();
  }

  /** Every notice, whatever its tenant, as it is published (to watch subscribers' own credentials). */
  onNotice(listener: (notice: RevocationNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  open(request: OpenNoticeStream): NoticeStream {
    const stream = new NoticeStream({
      tenantId: request.tenantId,
      afterPosition: request.afterPosition,
      limit: this.queueLimit,
      onOverflow: () => {
        this.slowConsumersDropped++;
        request.onOverflow();
      },
      observeLength: (length) => {
        if (length > this.peakQueue) this.peakQueue = length;
      },
    });
    // Registered before the replay starts, so nothing appended meanwhile can fall between the two.
    this.register(stream);
    if (request.afterPosition !== null) void this.replay(stream, request.afterPosition);
    return stream;
  }

  stats(): RevocationFeedStats {
    let longestQueue = 0;
    this.forEachStream((stream) => (longestQueue = Math.max(longestQueue, stream.length)));
    return { subscriptions: this.count, longestQueue, peakQueue: this.peakQueue, slowConsumersDropped: this.slowConsumersDropped };
  }

  private register(stream: NoticeStream): void {
    const tenantId = stream.tenantId;
    let set = this.everyTenant;
    if (tenantId !== null) {
      set = this.byTenant.get(tenantId) ?? new Set();
      this.byTenant.set(tenantId, set);
    }
    set.add(stream);
    this.count++;
    stream.onEnd(() => {
      if (!set.delete(stream)) return;
      this.count--;
      if (tenantId !== null && set.size === 0 && this.byTenant.get(tenantId) === set) this.byTenant.delete(tenantId);
    });
  }

  private forEachStream(visit: (stream: NoticeStream) => void): void {
    this.everyTenant.forEach(visit);
    for (const set of this.byTenant.values()) set.forEach(visit);
  }

  private publish(events: readonly RecordedEvent[]): void {
    for (const event of events) {
      const notice = revocationNoticeOf(event);
      if (!notice) continue;
      for (const listener of this.listeners) {
        try {
          listener(notice);
        } catch (error) {
          this.logger.error({ err: error }, 'revocation notice listener failed');
        }
      }
      for (const stream of this.byTenant.get(notice.tenantId) ?? []) stream.offerLive(notice);
      for (const stream of this.everyTenant) stream.offerLive(notice);
    }
  }

  private async replay(stream: NoticeStream, afterPosition: bigint): Promise<void> {
    let subscription: EventSubscription | null = null;
    try {
      const opened = this.store.subscribe({ fromPosition: afterPosition, eventTypes: NOTICE_EVENT_TYPES });
      subscription = opened;
      stream.onEnd(() => void opened.close());
      replay: for await (const message of opened) {
        if (stream.isEnded) break;
        if (message.type === 'caughtUp') break;
        if (message.type !== 'events') continue;
        for (const event of message.events) {
          const notice = revocationNoticeOf(event);
          if (notice) await stream.offerReplayed(notice);
          if (stream.isEnded) break replay;
        }
      }
      stream.finishReplay();
    } catch (error) {
      this.logger.error({ err: error }, 'replaying revocation notices failed');
      stream.fail(new KeyledgerError('UNAVAILABLE', 'The event log could not be read; subscribe again with afterPosition to resume'));
    } finally {
      await subscription?.close();
    }
  }
}
