import type { IncomingMessage, Server } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Registry } from 'prom-client';
import type { Clock } from '../../app/clock';
import type { AuthFailureLimiter, LimiterFactory } from '../../app/rate-limits';
import { RevocationFeed, RevocationNoticeService, type CommittedEventSource } from '../../app/revocations';
import type { TokenCredentials } from '../../app/credentials/token-credentials';
import type { TokenService } from '../../app/tokens/token-service';
import type { EventStore } from '../../eventstore/port';
import type { Logger } from '../../logger';
import { formatGraphQLError } from '../errors';
import { byteLimit, type QueryLimits } from '../limits';
import { registerSubscriptionMetrics } from './subscription-metrics';
import { SubscriptionServer } from './subscription-server';
import { SUBSCRIPTION_LIMITS, type SubscriptionLimits } from './subscription-limits';

export { SubscriptionCloseCode } from './close-codes';
export { SUBSCRIPTION_LIMITS, type SubscriptionLimits } from './subscription-limits';
export { SubscriptionServer } from './subscription-server';

export interface SubscriptionTransportOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  store: EventStore;
  events: CommittedEventSource;
  tokens: Pick<TokenCredentials, 'authenticate'> & Pick<TokenService, 'getToken'>;
  clock: Clock;
  logger: Logger;
  /** The HTTP body limit as configured; WebSocket messages get the same. */
  bodyLimit: string;
  /** The limits HTTP operations keep to; subscribe messages get the same. */
  queryLimits: QueryLimits;
  /** Production: errors leave out graphql-js's suggestions of schema names, as on HTTP. */
  production: boolean;
  registry: Registry;
  isStarted(): boolean;
  limits?: Partial<SubscriptionLimits>;
  limiters?: LimiterFactory;
  authFailures?: AuthFailureLimiter;
  clientAddress?(request: IncomingMessage): string | undefined;
}

export interface SubscriptionTransport {
  readonly feed: RevocationFeed;
  readonly server: SubscriptionServer;
  /** Add to Apollo's plugins: it drains the WebSocket connections when Apollo stops. */
  readonly apolloPlugin: ApolloServerPlugin;
  /** Ends the notice streams; call after Apollo has stopped. */
  stop(): void;
}

/** Revocation notices over graphql-ws on the HTTP server's /graphql. */
export function createSubscriptionTransport(options: SubscriptionTransportOptions): SubscriptionTransport {
  const limits = { ...SUBSCRIPTION_LIMITS, ...options.limits };
  const feed = new RevocationFeed(options.store, options.events, limits.queueLength, options.logger);
  feed.start();
  const server = new SubscriptionServer({
    httpServer: options.httpServer,
    schema: options.schema,
    tokens: options.tokens,
    notices: new RevocationNoticeService(feed, options.store),
    events: options.events,
    clock: options.clock,
    logger: options.logger,
    maxPayloadBytes: byteLimit(options.bodyLimit),
    queryLimits: options.queryLimits,
    formatError: formatGraphQLError((error) => options.logger.error({ err: error }, 'unexpected error in a GraphQL subscription'), {
      hideSchemaSuggestions: options.production,
    }),
    isStarted: options.isStarted,
    limits,
    limiters: options.limiters,
    authFailures: options.authFailures,
    clientAddress: options.clientAddress,
  });
  registerSubscriptionMetrics(options.registry, feed, server);
  return {
    feed,
    server,
    apolloPlugin: server.apolloPlugin(),
    stop: () => feed.stop(),
  };
}
