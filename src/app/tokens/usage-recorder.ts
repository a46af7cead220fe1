import type { Logger } from '../../logger';

/** Where flushed usage goes; the read-model side table in production. */
export interface TokenUsageSink {
  write(entries: Iterable<[tokenId: string, lastUsedAt: Date]>): void;
}

export const USAGE_FLUSH_INTERVAL_MS = 5000;
/** Past this many distinct tokens in one batch, new uses wait for the next flush rather than grow memory. */
const MAX_PENDING = 100_000;

/**
 * Remembers when tokens were last used and writes that in batches every few seconds. A use
 * is one Map write on the request's path; the database sees one transaction per interval,
 * however many requests there were. Best effort: a batch that fails to write is kept for
 * the next flush, and a crash loses at most one interval.
 */
export class TokenUsageRecorder {
  private pending = new Map<string, Date>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: TokenUsageSink,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly intervalMs = USAGE_FLUSH_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  record(tokenId: string, at: Date): void {
    const previous = this.pending.get(tokenId);
    if (previous && previous.getTime() >= at.getTime()) return;
    if (!previous && this.pending.size >= MAX_PENDING) return;
    this.pending.set(tokenId, at);
  }

  /** A use not flushed yet, so that a token's own reader sees it at once. */
  pendingUse(tokenId: string): Date | null {
    return this.pending.get(tokenId) ?? null;
  }

  /** The record with a use not flushed yet as its `lastUsedAt`, when that is later. */
  withPendingUse<T extends { id: string; lastUsedAt: Date | null }>(record: T): T {
    const pending = this.pendingUse(record.id);
    if (!pending || (record.lastUsedAt && record.lastUsedAt.getTime() >= pending.getTime())) return record;
    return { ...record, lastUsedAt: pending };
  }

  flush(): void {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      this.sink.write(batch);
    } catch (error) {
      for (const [tokenId, at] of batch) this.record(tokenId, at);
      this.logger.warn({ err: error, tokens: batch.size }, 'could not record token usage; will retry');
    }
  }

  /** Stops the timer and writes what is pending. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }
}
