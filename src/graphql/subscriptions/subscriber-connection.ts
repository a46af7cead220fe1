import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Principal } from '../../app/request-context';
import type { NoticeStream } from '../../app/revocations';
import { closeReason } from './close-codes';

/** Node timers overflow (and fire at once) past 2^31-1 ms; later deadlines are re-armed on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One authenticated WebSocket connection and the notice streams it has open. */
export class SubscriberConnection {
  readonly id = randomUUID();
  readonly streams = new Set<NoticeStream>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    readonly socket: WebSocket,
    readonly request: IncomingMessage,
    /** Kept to re-check the credential at each subscribe and whenever its token changes. */
    readonly bearer: string,
    public principal: Principal,
    public expiresAt: Date | null,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  track(stream: NoticeStream): void {
    this.streams.add(stream);
    stream.onEnd(() => this.streams.delete(stream));
  }

  /** Runs `task` after `delayMs`, unless the connection closes first. */
  schedule(delayMs: number, task: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        if (!this.closed) task();
      },
      Math.max(0, Math.min(delayMs, MAX_TIMER_MS)),
    );
    timer.unref();
    this.timers.add(timer);
  }

  clearSchedule(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * Closes the socket and at once ends the connection's streams: a subscriber that is not
   * reading may never complete the close handshake, and its notices must not pile up meanwhile.
   */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.release();
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) {
      this.socket.close(code, closeReason(reason));
    }
  }

  /** Frees what the connection holds, once its socket is gone. Idempotent. */
  release(): void {
    this.closed = true;
    this.clearSchedule();
    for (const stream of [...this.streams]) stream.end();
  }
}
