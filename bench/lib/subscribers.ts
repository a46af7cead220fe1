import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** The subscription both the gateway and the bare graphql-ws server answer. */
export const TOKEN_REVOKED = `subscription Revocations {
  tokenRevoked { tokenId tenantId kind reason effectiveAt actor { type id } eventId position }
}`;

/** The GraphQL-over-WebSocket endpoint of the server at `httpUrl`. */
export const wsUrl = (httpUrl: string) => `${httpUrl.replace(/^http/, 'ws')}/graphql`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a count the server reports until it reaches `count`: subscribe messages get no acknowledgement. */
export async function waitForCount(read: () => Promise<number | null>, count: number, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = await read();
    if (current !== null && current >= count) return;
    if (Date.now() > deadline) throw new Error(`expected ${count} ${what}, found ${current}`);
    await sleep(50);
  }
}

/** When each notice reached the subscribers, by token id, on the bench process's clock. */
export class Receipts {
  private readonly byId = new Map<string, number[]>();
  readonly failures: string[] = [];

  record(tokenId: string, at: number): void {
    const list = this.byId.get(tokenId);
    if (list) list.push(at);
    else this.byId.set(tokenId, [at]);
  }

  of(tokenId: string): readonly number[] {
    return this.byId.get(tokenId) ?? [];
  }
}

export interface SubscriberPool {
  size: number;
  close(): Promise<void>;
}

const OPEN_BATCH = 50;
const CONNECT_TIMEOUT_MS = 15_000;

function connect(wsUrl: string, connectionParams: Record<string, unknown>): Promise<Client> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () => fail(new Error(`no connection acknowledgement from ${wsUrl} within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void client.dispose();
      reject(error);
    };
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: (error) => fail(new Error(`subscriber connection failed: ${String((error as { reason?: string }).reason ?? error)}`)),
      on: {
        connected: () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(client);
        },
        closed: (event) => {
          const { code, reason } = event as { code: number; reason: string };
          fail(new Error(`subscriber socket closed before acknowledgement: ${code} ${reason}`));
        },
      },
    });
  });
}

/**
 * Opens `count` graphql-ws connections (one socket each, as separate resource servers would),
 * each with one `tokenRevoked` subscription, recording every notice's arrival in `receipts`.
 */
export async function openSubscribers(
  wsUrl: string,
  count: number,
  connectionParams: Record<string, unknown>,
  receipts: Receipts,
): Promise<SubscriberPool> {
  const clients: Client[] = [];
  const close = async () => {
    await Promise.all(clients.map((client) => client.dispose()));
  };
  try {
    for (let opened = 0; opened < count; opened += OPEN_BATCH) {
      const batch = await Promise.all(Array.from({ length: Math.min(OPEN_BATCH, count - opened) }, () => connect(wsUrl, connectionParams)));
      clients.push(...batch);
    }
  } catch (error) {
    await close();
    throw error;
  }
  for (const client of clients) {
    client.subscribe<{ tokenRevoked: { tokenId: string } }>(
      { query: TOKEN_REVOKED },
      {
        next: (result) => {
          const at = performance.now();
          if (result.errors?.length) receipts.failures.push(JSON.stringify(result.errors).slice(0, 300));
          else if (result.data?.tokenRevoked) receipts.record(result.data.tokenRevoked.tokenId, at);
        },
        error: (error) => receipts.failures.push(`subscription ended with an error: ${JSON.stringify(error).slice(0, 300)}`),
        complete: () => receipts.failures.push('subscription completed while the benchmark was listening'),
      },
    );
  }
  return { size: clients.length, close };
}
