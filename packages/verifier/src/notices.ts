import { createClient, type Client } from 'graphql-ws/client';
import type { RevocationNotice, VerifierLogger } from './types.js';

const TOKEN_REVOKED = `subscription KeyledgerVerifierNotices($afterPosition: String) {
  tokenRevoked(afterPosition: $afterPosition) { tokenId tenantId kind effectiveAt position }
}`;

/** Close codes after which the same credential will be refused again: retry slowly. */
const CREDENTIAL_REFUSED = new Set([4401, 4403]);

export interface NoticeListener {
  /** The subscription is in place; `resumed` is false when it started without a position. */
  onConnected(resumed: boolean): void;
  onDisconnected(code: number | undefined, reason: string | undefined): void;
  onNotice(notice: RevocationNotice): void;
}

export interface NoticeSubscriptionOptions {
  wsUrl: string;
  authorization: string;
  webSocket: unknown;
  keepAliveMs: number;
  retryDelayMs: { min: number; max: number };
  logger: VerifierLogger;
  listener: NoticeListener;
}

/**
 * One `tokenRevoked` subscription, resumed after any disconnect from the position of the last
 * notice processed. graphql-ws's own retries are off: they would resubscribe with the first
 * position instead of the latest.
 */
export class NoticeSubscription {
  private client: Client | null = null;
  private position: string | null = null;
  private stopped = false;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: NoticeSubscriptionOptions) {}

  get lastPosition(): string | null {
    return this.position;
  }

  start(): void {
    this.connect();
  }

  /** Breaks the current connection (it is resumed as after any other disconnect). */
  interrupt(): void {
    this.client?.terminate();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    if (client) await disposeOf(client);
  }

  private connect(): void {
    if (this.stopped) return;
    const { wsUrl, authorization, webSocket, keepAliveMs, listener } = this.options;
    let pongTimer: ReturnType<typeof setTimeout> | null = null;
    let closeCode: number | undefined;
    let closeReason: string | undefined;
    let ended = false;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: webSocket,
      connectionParams: { authorization },
      lazy: true,
      retryAttempts: 0,
      keepAlive: keepAliveMs,
      on: {
        connected: () => {
          this.failures = 0;
          listener.onConnected(this.position !== null);
        },
        // A socket that stops answering pings is as good as closed.
        ping: (received) => {
          if (received || pongTimer) return;
          pongTimer = setTimeout(() => client.terminate(), keepAliveMs);
        },
        pong: (received) => {
          if (received && pongTimer) {
            clearTimeout(pongTimer);
            pongTimer = null;
          }
        },
        closed: (event) => {
          if (pongTimer) clearTimeout(pongTimer);
          const close = event as { code?: number; reason?: string } | undefined;
          closeCode = close?.code;
          closeReason = close?.reason;
        },
      },
    });
    this.client = client;
    const end = () => {
      if (ended) return;
      ended = true;
      if (pongTimer) clearTimeout(pongTimer);
      void disposeOf(client);
      if (this.client === client) this.client = null;
      if (this.stopped) return;
      listener.onDisconnected(closeCode, closeReason);
      this.scheduleReconnect(closeCode);
    };
    client.subscribe<{ tokenRevoked: RevocationNotice }>(
      { query: TOKEN_REVOKED, variables: { afterPosition: this.position } },
      {
        next: (result) => {
          const notice = result.data?.tokenRevoked;
          if (!notice) {
            this.options.logger.error('keyledger verifier: the notice subscription was refused', { errors: result.errors?.map((e) => e.message) });
            return;
          }
          listener.onNotice(notice);
          this.position = notice.position;
        },
        error: (error) => {
          if (Array.isArray(error)) {
            const refusedPosition = error.some((e: { extensions?: { field?: unknown } }) => e?.extensions?.field === 'afterPosition');
            this.options.logger.error('keyledger verifier: the notice subscription was refused', {
              errors: error.map((e: { message?: unknown }) => e?.message),
            });
            // A position keyledger does not know (its log was replaced): start over without one.
            if (refusedPosition) this.position = null;
          }
          const close = error as { code?: unknown; reason?: unknown };
          if (typeof close?.code === 'number') closeCode = close.code;
          if (typeof close?.reason === 'string') closeReason = close.reason;
          end();
        },
        complete: end,
      },
    );
  }

  private scheduleReconnect(code: number | undefined): void {
    const { min, max } = this.options.retryDelayMs;
    this.failures++;
    const refused = code !== undefined && CREDENTIAL_REFUSED.has(code);
    const delay = refused ? max : Math.min(max, min * 2 ** Math.min(this.failures - 1, 16));
    const level = refused ? 'error' : 'warn';
    this.options.logger[level]('keyledger verifier: revocation notices interrupted; resuming', {
      code,
      afterPosition: this.position,
      retryInMs: Math.round(delay),
    });
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.connect();
      },
      delay * (0.75 + Math.random() / 2),
    );
    this.retryTimer.unref?.();
  }
}

/** Disposing of a client whose connection failed rejects with that failure, which is already handled. */
async function disposeOf(client: Client): Promise<void> {
  try {
    await client.dispose();
  } catch {
    // the failure was reported through the subscription's error
  }
}
