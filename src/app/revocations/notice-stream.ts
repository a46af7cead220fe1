import type { RevocationNotice } from './revocation-notice';

export interface NoticeStreamOptions {
  /** Notices of this tenant only; null for every tenant. */
  tenantId: string | null;
  /** Deliver only notices after this log position; null for live notices only. */
  afterPosition: bigint | null;
  /** Most notices held for a subscriber that is not reading; past it the stream gives up. */
  limit: number;
  /** The subscriber fell `limit` notices behind. Called once, before the stream ends. */
  onOverflow(): void;
  /** Reports how many notices the stream holds after each addition. */
  observeLength(length: number): void;
}

/**
 * The notices of one subscription, as the async iterator GraphQL subscriptions consume.
 *
 * With a resume position the stream starts in replay: notices read back from the log are
 * delivered first, while live ones are held aside; when the replay has caught up the held
 * ones follow. Both sources arrive in log order, so dropping every notice at or below the
 * last delivered position removes the overlap without losing anything.
 *
 * Memory is bounded: the replay waits for the subscriber (it reads the log at its own
 * pace), but live notices cannot wait, so a subscriber `limit` notices behind is dropped.
 */
export class NoticeStream implements AsyncIterableIterator<RevocationNotice> {
  private readonly queue: RevocationNotice[] = [];
  private readonly held: RevocationNotice[] = [];
  private readonly endListeners: Array<() => void> = [];
  private replaying: boolean;
  private lastPosition: bigint | null;
  private pull: { resolve(result: IteratorResult<RevocationNotice>): void; reject(error: unknown): void } | null = null;
  private wakeReplay: (() => void) | null = null;
  private failure: unknown = null;
  private ended = false;

  constructor(private readonly options: NoticeStreamOptions) {
    this.replaying = options.afterPosition !== null;
    this.lastPosition = options.afterPosition;
  }

  get tenantId(): string | null {
    return this.options.tenantId;
  }

  /** Notices waiting for the subscriber, held live ones included. */
  get length(): number {
    return this.queue.length + this.held.length;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  accepts(notice: RevocationNotice): boolean {
    return this.options.tenantId === null || notice.tenantId === this.options.tenantId;
  }

  /** A notice from the live feed; the caller has already matched the tenant. */
  offerLive(notice: RevocationNotice): void {
    if (this.ended) return;
    if (this.length >= this.options.limit) {
      this.overflow();
      return;
    }
    if (this.replaying) {
      this.held.push(notice);
      this.options.observeLength(this.length);
    } else {
      this.deliver(notice);
    }
  }

  /** A notice read back from the log; waits while the subscriber is `limit` notices behind. */
  async offerReplayed(notice: RevocationNotice): Promise<void> {
    if (!this.accepts(notice)) return;
    while (!this.ended && this.queue.length >= this.options.limit) {
      await new Promise<void>((resolve) => (this.wakeReplay = resolve));
    }
    if (!this.ended) this.deliver(notice);
  }

  /** The replay has reached the live feed: release what was held aside meanwhile. */
  finishReplay(): void {
    this.replaying = false;
    for (const notice of this.held.splice(0)) this.deliver(notice);
  }

  /** Ends the stream with an error the subscriber will see (after what is already queued). */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = error;
    if (this.pull && this.queue.length === 0) {
      const pull = this.pull;
      this.pull = null;
      pull.reject(error);
      this.end();
    }
  }

  /** Registers work to undo when the stream ends, however it ends. */
  onEnd(listener: () => void): void {
    if (this.ended) listener();
    else this.endListeners.push(listener);
  }

  next(): Promise<IteratorResult<RevocationNotice>> {
    const notice = this.queue.shift();
    if (notice) {
      this.wakeReplay?.();
      this.wakeReplay = null;
      return Promise.resolve({ value: notice, done: false });
    }
    if (this.failure !== null && !this.ended) {
      const failure = this.failure;
      this.end();
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.pull = { resolve, reject }));
  }

  return(): Promise<IteratorResult<RevocationNotice>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<RevocationNotice> {
    return this;
  }

  /** Stops delivery and frees what the stream holds. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.held.length = 0;
    this.wakeReplay?.();
    this.wakeReplay = null;
    const pull = this.pull;
    this.pull = null;
    pull?.resolve({ value: undefined, done: true });
    for (const listener of this.endListeners.splice(0)) listener();
  }

  private deliver(notice: RevocationNotice): void {
    if (this.lastPosition !== null && notice.position <= this.lastPosition) return;
    this.lastPosition = notice.position;
    if (this.pull) {
      const pull = this.pull;
      this.pull = null;
      pull.resolve({ value: notice, done: false });
      return;
    }
    this.queue.push(notice);
    this.options.observeLength(this.length);
  }

  private overflow(): void {
    // The socket is closed first, so the subscriber sees why rather than a bare completion.
    this.options.onOverflow();
    this.end();
  }
}
