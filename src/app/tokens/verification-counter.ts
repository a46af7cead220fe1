import { randomUUID } from 'node:crypto';
import { tokenVerificationsStreamId, type TokenVerificationsCounted, type VerificationBucket } from '../../domain/token-usage/events';
import { SYSTEM_ACTOR } from '../request-context';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';

export const VERIFICATION_COUNT_FLUSH_INTERVAL_MS = 5000;
/** Past this many distinct buckets waiting, new outcomes are dropped (and the drop logged) rather than grow memory. */
const MAX_PENDING = 100_000;
/** Buckets per event, so that one busy tenant's batch stays a modest event. */
const BUCKETS_PER_EVENT = 1000;

const HOUR_MS = 3600_000;

/**
 * Counts `verifyToken` outcomes per token, UTC hour and code for usage analytics. Counting is
 * one Map update on the verification's path; a timer appends what was counted, one
 * `TokenVerificationsCounted` per tenant, so the log grows with the number of tenants and
 * intervals, not of verifications. Best effort, as `lastUsedAt` is: a batch that fails to be
 * appended is kept for the next flush, and a crash loses at most one interval.
 */
export class VerificationCounter {
  private pending = new Map<string, number>();
  private dropped = 0;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private lastHour = { start: Number.NaN, iso: '' };

  constructor(
    private readonly writer: Pick<EventWriter, 'appendUnawaited'>,
    private readonly clock: Clock,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly intervalMs = VERIFICATION_COUNT_FLUSH_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  count(tenantId: string, tokenId: string, code: string, at: Date = this.clock.now()): void {
    const hour = this.hourOf(at);
    const key = `${tenantId}\n${tokenId}\n${hour}\n${code}`;
    const current = this.pending.get(key);
    if (current === undefined && this.pending.size >= MAX_PENDING) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 10_000 === 0) this.logger.warn({ dropped: this.dropped }, 'verification counts dropped: too many waiting to be recorded');
      return;
    }
    this.pending.set(key, (current ?? 0) + 1);
  }

  /** The UTC hour `at` falls in, as an ISO string; the last one is kept, as nearly every count falls in it. */
  private hourOf(at: Date): string {
    const start = Math.floor(at.getTime() / HOUR_MS) * HOUR_MS;
    if (start !== this.lastHour.start) this.lastHour = { start, iso: new Date(start).toISOString() };
    return this.lastHour.iso;
  }

  /** Appends what was counted; concurrent calls share one run. */
  flush(): Promise<void> {
    this.flushing ??= this.appendPending().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async appendPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    const byTenant = new Map<string, Array<[key: string, bucket: VerificationBucket]>>();
    for (const [key, count] of batch) {
      const [tenantId, tokenId, hour, code] = key.split('\n');
      const list = byTenant.get(tenantId) ?? [];
      list.push([key, { tokenId, hour, code, count }]);
      byTenant.set(tenantId, list);
    }
    const now = this.clock.now();
    for (const [tenantId, entries] of byTenant) {
      for (let start = 0; start < entries.length; start += BUCKETS_PER_EVENT) {
        const chunk = entries.slice(start, start + BUCKETS_PER_EVENT);
        const event: TokenVerificationsCounted = {
          type: 'TokenVerificationsCounted',
          data: { tenantId, buckets: chunk.map(([, bucket]) => bucket), countedAt: now.toISOString() },
        };
        try {
          await this.writer.appendUnawaited(
            tokenVerificationsStreamId(tenantId),
            [event],
            { actor: SYSTEM_ACTOR, requestId: randomUUID(), occurredAt: now.toISOString() },
            'any',
          );
        } catch (error) {
          for (const [key, bucket] of chunk) this.pending.set(key, (this.pending.get(key) ?? 0) + bucket.count);
          this.logger.warn({ err: error, tenantId, buckets: chunk.length }, 'could not record verification counts; will retry');
        }
      }
    }
  }
}
