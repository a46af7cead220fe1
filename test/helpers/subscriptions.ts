import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import pino from 'pino';
import WebSocket from 'ws';
import type { Clock } from '../../src/app/clock';
import { loadConfig } from '../../src/config';
import { startGateway } from '../../src/gateway';
import type { SubscriptionLimits } from '../../src/graphql/subscriptions';
import { createLogger } from '../../src/logger';
import { ROOT_SECRET, waitForReady, type TestGateway } from './gateway';
import { makeTempDir } from './temp-dir';

export const TOKEN_REVOKED = `subscription Revocations($tenantId: ID, $afterPosition: String) {
  tokenRevoked(tenantId: $tenantId, afterPosition: $afterPosition) {
    tokenId tenantId kind reason effectiveAt actor { type id } eventId position
  }
}`;

export interface Notice {
  tokenId: string;
  tenantId: string;
  kind: string;
  reason: string | null;
  effectiveAt: string;
  actor: { type: string; id: string };
  eventId: string;
  position: string;
}

export interface GraphQLErrorBody {
  message: string;
  extensions?: Record<string, unknown>;
  [key: string]: unknown;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

/** Like startTestGateway, with WebSocket limits of the test's choosing. */
export async function startGatewayWithLimits(limits: Partial<SubscriptionLimits>, options: { clock?: Clock } = {}): Promise<TestGateway> {
  const temp = makeTempDir();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', KEYLEDGER_DATA_DIR: temp.path, KEYLEDGER_BOOTSTRAP_TOKEN: ROOT_SECRET });
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: config.logLevel, destination: destination as unknown as pino.DestinationStream });
  const gateway = await startGateway({ config, logger, clock: options.clock, subscriptionLimits: limits });
  await waitForReady(gateway.url);
  return {
    gateway,
    url: gateway.url,
    dataDir: temp.path,
    logs: () => chunks.join(''),
    async stop() {
      await gateway.stop();
      temp.remove();
    },
  };
}

interface Waiter {
  check(): boolean;
  resolve(): void;
}

/**
 * A graphql-ws client (no retries) over a real socket. Records how its socket closed, and
 * for each subscription what it received.
 */
export class SubscriberClient {
  readonly client: Client;
  closeEvent: { code: number; reason: string } | null = null;
  acknowledged = false;
  private readonly waiters = new Set<Waiter>();

  constructor(httpUrl: string, bearer: string | null, connectionParams?: Record<string, unknown>) {
    this.client = createClient({
      url: wsUrl(httpUrl),
      webSocketImpl: WebSocket,
      connectionParams: connectionParams ?? (bearer === null ? {} : { authorization: `Bearer ${bearer}` }),
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: {
        connected: () => {
          this.acknowledged = true;
          this.poke();
        },
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          this.closeEvent ??= { code, reason: String(reason) };
          this.poke();
        },
      },
    });
  }

  subscribe(variables: Record<string, unknown> = {}, query = TOKEN_REVOKED): SubscriptionRecord {
    const record = new SubscriptionRecord(() => this.poke());
    record.unsubscribe = this.client.subscribe(
      { query, variables },
      {
        next: (result) => record.onNext(result as { data?: { tokenRevoked?: Notice }; errors?: GraphQLErrorBody[] }),
        error: (error) => record.onError(error),
        complete: () => record.onComplete(),
      },
    );
    return record;
  }

  /** Resolves once the server acknowledged the connection. */
  connected(timeoutMs = 5000): Promise<void> {
    return this.until(() => this.acknowledged || this.closeEvent !== null, timeoutMs).then(() => {
      if (!this.acknowledged) throw new Error(`connection closed before acknowledgement: ${JSON.stringify(this.closeEvent)}`);
    });
  }

  closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.until(() => this.closeEvent !== null, timeoutMs).then(() => this.closeEvent!);
  }

  until(check: () => boolean, timeoutMs = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error('condition not met in time'));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  async dispose(): Promise<void> {
    await this.client.dispose();
  }

  private poke(): void {
    for (const waiter of this.waiters) {
      if (waiter.check()) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }
}

export class SubscriptionRecord {
  readonly notices: Notice[] = [];
  readonly errors: GraphQLErrorBody[] = [];
  /** Raw results, to check that nothing carries a stack trace. */
  readonly raw: unknown[] = [];
  failure: unknown = null;
  completed = false;
  unsubscribe: () => void = () => undefined;

  constructor(private readonly changed: () => void) {}

  onNext(result: { data?: { tokenRevoked?: Notice }; errors?: GraphQLErrorBody[] }): void {
    this.raw.push(result);
    if (result.data?.tokenRevoked) this.notices.push(result.data.tokenRevoked);
    if (result.errors) this.errors.push(...result.errors);
    this.changed();
  }

  onError(error: unknown): void {
    this.raw.push(error);
    if (Array.isArray(error)) this.errors.push(...(error as GraphQLErrorBody[]));
    else this.failure = error;
    this.changed();
  }

  onComplete(): void {
    this.completed = true;
    this.changed();
  }

  get ended(): boolean {
    return this.completed || this.failure !== null || this.errors.length > 0;
  }
}

/** A gauge or counter from the gateway's /metrics, or null when absent. */
export async function metricValue(httpUrl: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

/**
 * Subscriptions are registered asynchronously after the subscribe message (graphql-ws sends
 * no acknowledgement for it); tests that then cause a notice wait for the gauge first.
 */
export async function waitForSubscriptions(httpUrl: string, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await metricValue(httpUrl, 'keyledger_subscriptions');
    if (open !== null && open >= count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} open subscriptions, found ${open}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
