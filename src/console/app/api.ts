import { Client, CombinedError, fetchExchange, subscriptionExchange, type AnyVariables } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { ConsoleError, errorFromCombined, errorFromResponse } from './errors';

/**
 * The console's only way to the gateway: the public GraphQL API over HTTP, graphql-ws for
 * subscriptions, and the audit export over REST. The bearer lives in this object, in page
 * memory; nothing here writes to any web storage or cookie.
 */
export interface Api {
  query<T>(document: string, variables?: AnyVariables): Promise<T>;
  mutate<T>(document: string, variables?: AnyVariables): Promise<T>;
  subscribe<T>(document: string, variables: AnyVariables, onData: (data: T) => void, onError: (error: ConsoleError) => void): () => void;
  /**
   * Calls `listener` each time the WebSocket connects again after a drop. graphql-ws then
   * re-sends every subscription as first sent, so a subscription that can resume (with a
   * position) is started again by its owner from where it got to.
   */
  onReconnect(listener: () => void): () => void;
  /** A GET on the gateway with the bearer, for the REST routes a plain link cannot authenticate. */
  download(path: string): Promise<Blob>;
  close(): void;
}

export function createApi(bearer: string, origin = window.location.origin): Api {
  const authorization = `Bearer ${bearer}`;
  const ws: WsClient = createWsClient({
    url: `${origin.replace(/^http/, 'ws')}/graphql`,
    connectionParams: { authorization },
    lazy: true,
    retryAttempts: 5,
  });
  const client = new Client({
    url: `${origin}/graphql`,
    // No document cache: a secret in a mutation result must not outlive the dialog showing it.
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ query: request.query ?? '', variables: request.variables }, sink) }),
        }),
      }),
    ],
    // POST keeps variables (which may hold a secret to look up) out of URLs and logs.
    preferGetMethod: false,
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization }, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' }),
  });

  async function run<T>(kind: 'query' | 'mutation', document: string, variables: AnyVariables = {}): Promise<T> {
    const result = kind === 'query' ? await client.query(document, variables).toPromise() : await client.mutation(document, variables).toPromise();
    if (result.error) throw errorFromCombined(result.error);
    if (!result.data) throw new ConsoleError('INTERNAL_SERVER_ERROR');
    return result.data as T;
  }

  return {
    query: (document, variables) => run('query', document, variables),
    mutate: (document, variables) => run('mutation', document, variables),
    subscribe(document, variables, onData, onError) {
      const { unsubscribe } = client.subscription(document, variables).subscribe((result) => {
        if (result.error) onError(result.error instanceof CombinedError ? errorFromCombined(result.error) : new ConsoleError('INTERNAL_SERVER_ERROR'));
        else if (result.data) onData(result.data as never);
      });
      return unsubscribe;
    },
    async download(path) {
      let response: Response;
      try {
        response = await fetch(`${origin}${path}`, { headers: { authorization }, credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer' });
      } catch {
        throw new ConsoleError('NETWORK');
      }
      if (!response.ok) throw await errorFromResponse(response);
      return response.blob();
    },
    onReconnect(listener) {
      return ws.on('connected', (_socket, _payload, wasRetry) => {
        if (wasRetry) listener();
      });
    },
    close() {
      void ws.dispose();
    },
  };
}
