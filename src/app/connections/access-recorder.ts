import { timeOrderedUuid } from '../../crypto/time-ordered-uuid';
import { KeyledgerError } from '../../domain/errors';
import type { AccessEvent } from '../../domain/access/events';
import { accessStreamId, type ConnectionUsed } from '../../domain/connections/events';
import { EventStoreUnavailableError, type EventMetadata, type EventStore, type NewEvent } from '../../eventstore/port';
import type { Logger } from '../../logger';

export interface AccessRecorderOptions {
  /** How often pending records are appended. */
  intervalMs?: number;
  /** Uses waiting to be recorded at most; past it, uses are refused rather than left unrecorded. */
  maxPending?: number;
  /** A batch that fails for another reason than an unreachable store is tried this many times. */
  maxAttempts?: number;
}

interface Pending {
  event: NewEvent<AccessEvent['type'], AccessEvent['data']>;
  attempts: number;
}

/**
 * Records access as events in the tenant's `access-<tenant>` stream — each use of a
 * connection's key (`ConnectionUsed`) and each failed authentication (`AuthenticationFailed`)
 * — off the request's path: a record is queued in memory (no I/O), and
 * a timer appends the queue in one append per tenant. Being events, the records are shared
 * by every replica, survive read-model rebuilds, and feed the audit history.
 *
 * While the store is unreachable the queue holds the records and retries; once it is full,
 * uses are refused (UNAVAILABLE) so that no key is handed out unrecorded. A crash loses at
 * most the records of the last interval.
 */
export class ConnectionAccessRecorder {
  private queue: Pending[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly maxPending: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly store: Pick<EventStore, 'append'>,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
    options: AccessRecorderOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.maxPending = options.maxPending ?? 10_000;
    this.maxAttempts = options.maxAttempts ?? 3;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues a record; throws UNAVAILABLE when the backlog is full. */
  record(data: ConnectionUsed['data'], metadata: EventMetadata): void {
    if (this.queue.length >= this.maxPending) {
      throw new KeyledgerError('UNAVAILABLE', 'Uses of connections cannot be recorded right now, so none is allowed; retry shortly');
    }
    this.queue.push({ event: { id: timeOrderedUuid(), type: 'ConnectionUsed', data, metadata }, attempts: 0 });
  }

  /**
   * Queues a record that nothing waits on, such as a failed authentication; dropped (and
   * counted in the log) once the backlog is half full, so that anonymous callers failing in
   * bulk can never crowd out the records that connection uses depend on.
   */
  recordIfRoom<E extends Exclude<AccessEvent, ConnectionUsed>>(type: E['type'], data: E['data'], metadata: EventMetadata): boolean {
    if (this.queue.length >= this.maxPending / 2) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 1000 === 0) this.logger.warn({ dropped: this.dropped }, 'access records dropped: the backlog is full');
      return false;
    }
    this.queue.push({ event: { id: timeOrderedUuid(), type, data, metadata }, attempts: 0 });
    return true;
  }

  /** Appends what is queued; concurrent calls share one run. */
  flush(): Promise<void> {
    this.flushing ??= this.appendQueued().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Stops the timer and appends what is queued. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    // Records queued while a flush was running.
    if (this.queue.length > 0) await this.flush();
    if (this.queue.length > 0) this.logger.error({ unrecorded: this.queue.length }, 'connection uses could not be recorded before shutdown');
  }

  private async appendQueued(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const byTenant = new Map<string | null, Pending[]>();
    for (const pending of batch) {
      const list = byTenant.get(pending.event.data.tenantId) ?? [];
      list.push(pending);
      byTenant.set(pending.event.data.tenantId, list);
    }
    const retry: Pending[] = [];
    for (const [tenantId, records] of byTenant) {
      try {
        await this.store.append(accessStreamId(tenantId), records.map((record) => record.event), 'any');
      } catch (error) {
        const unavailable = error instanceof EventStoreUnavailableError;
        const kept = records.filter((record) => unavailable || ++record.attempts < this.maxAttempts);
        retry.push(...kept);
        if (kept.length < records.length) {
          this.logger.error({ err: error, tenantId, dropped: records.length - kept.length }, 'gave up recording connection uses');
        } else {
          this.logger.warn({ err: error, tenantId, records: records.length }, 'could not record connection uses; will retry');
        }
      }
    }
    // Older records first, so the history keeps its order.
    this.queue = [...retry, ...this.queue];
  }
}
