import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { WebSocket, WebSocketServer } from 'ws';
import type { Clock } from '../../app/clock';
import { consumePoint, memoryLimiters, type AuthFailureLimiter, type LimiterFactory } from '../../app/rate-limits';
import type { Principal, RequestContext } from '../../app/request-context';
import { revocationNoticeOf, type CommittedEventSource, type RevocationNoticeService } from '../../app/revocations';
import type { TokenCredentials } from '../../app/credentials/token-credentials';
import type { TokenService } from '../../app/tokens/token-service';
import { badInput, KeyledgerError, unauthenticated } from '../../domain/errors';
import { tokenStreamId } from '../../domain/tokens/events';
import { translationOf } from '../../error-table';
import type { RecordedEvent } from '../../eventstore/port';
import { bearerOf } from '../../http/app';
import type { Logger } from '../../logger';
import { complexityRefusal } from '../complexity';
import { depthLimitRule } from '../depth-limit';
import { oncePerOperationRule } from '../once-per-operation';
import { MAX_QUERY_DEPTH, type QueryLimits } from '../limits';
import { closeReason, SubscriptionCloseCode } from './close-codes';
import { SubscriberConnection } from './subscriber-connection';
import type { SubscriptionContext } from './subscription-context';
import { SUBSCRIPTION_LIMITS, type SubscriptionLimits } from './subscription-limits';

export const SUBSCRIPTIONS_PATH = '/graphql';

export interface SubscriptionServerOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  tokens: Pick<TokenCredentials, 'authenticate'> & Pick<TokenService, 'getToken'>;
  notices: RevocationNoticeService;
  /** Committed events, to notice changes to the subscribers' own credentials. */
  events: CommittedEventSource;
  clock: Clock;
  logger: Logger;
  /** Largest message a client may send (the HTTP body limit). */
  maxPayloadBytes: number;
  /** The parser token and cost limits, as on HTTP. */
  queryLimits: QueryLimits;
  /** The formatter HTTP responses go through, so both transports show errors alike. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** False until start-up is done; connections are turned away (1013) until then. */
  isStarted(): boolean;
  limits?: Partial<SubscriptionLimits>;
  /** Where the subscribe counters live; in this process when not given. */
  limiters?: LimiterFactory;
  /** Refused credentials at connect count against the client's address, as over HTTP. */
  authFailures?: AuthFailureLimiter;
  /** The client's address, honouring trusted proxies; the socket's peer when not given. */
  clientAddress?(request: IncomingMessage): string | undefined;
}

export interface SubscriptionServerStats {
  connections: number;
  slowConsumerCloses: number;
}

type ConnectionContext = Context<Record<string, unknown> | undefined, Extra>;

const VALIDATION_RULES = [...specifiedRules, depthLimitRule(MAX_QUERY_DEPTH), oncePerOperationRule];
const EXPIRED = 'Forbidden: the credential of this connection has expired';
/** After a credential check that failed for a reason other than the credential (throttling, the store). */
const RECHECK_RETRY_MS = 5000;
const ROTATED_OUT = 'Forbidden: the secret of this connection was rotated and its grace period has ended';

/**
 * The server's sockets. ws reports a client's protocol violation (a message over
 * `maxPayload`, a malformed frame) by closing the socket with the fitting code (1009, 1002,
 * 1007) and then emitting 'error' on it; graphql-ws takes every socket error for a fault of
 * the server and prints it with its stack on the console. The client's fault is logged here
 * as such and goes no further.
 */
function socketClassFor(logger: Logger): typeof WebSocket {
  return class ClientSocket extends WebSocket {
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      const error = args[0];
      if (event === 'error' && isClientProtocolError(error)) {
        logger.warn(
          { code: error.code, reason: error.message },
          'closed a WebSocket connection that broke the protocol or the message size limit',
        );
        return true;
      }
      return super.emit(event, ...args);
    }
  };
}

/** ws's receiver names every way a peer can break the protocol `WS_ERR_*`. */
function isClientProtocolError(error: unknown): error is Error & { code: string } {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/** A KeyledgerError as graphql-ws expects errors, keeping the original for the formatter. */
function graphQLErrorOf(error: KeyledgerError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error });
}

/**
 * GraphQL over WebSocket (graphql-transport-ws) on the HTTP server's `/graphql`. WebSocket
 * traffic bypasses Apollo and express, so everything they apply to HTTP is applied here too:
 * authentication, the body limit (`maxPayload`), the token, depth and cost limits, the error formatter; plus
 * what only a long-lived connection needs: a subscribe rate limit, a subscription count
 * limit, and watching the connection's own credential so that revoking it cuts the
 * connection off.
 */
export class SubscriptionServer {
  private readonly limits: SubscriptionLimits;
  private readonly wss: WebSocketServer;
  private readonly graphqlWs: { dispose(): void | Promise<void> };
  private readonly connections = new Map<ConnectionContext, SubscriberConnection>();
  /** Connections by the stream id of the token they authenticated with. */
  private readonly byCredential = new Map<string, Set<SubscriberConnection>>();
  private readonly subscribeLimiter: RateLimiterAbstract;
  private readonly detachEvents: () => void;
  private slowConsumerCloses = 0;
  private draining: Promise<void> | null = null;

  constructor(private readonly options: SubscriptionServerOptions) {
    this.limits = { ...SUBSCRIPTION_LIMITS, ...options.limits };
    this.subscribeLimiter = (options.limiters ?? memoryLimiters).create({
      name: 'subscribe-messages',
      points: this.limits.subscribeMessages,
      durationSeconds: this.limits.subscribeWindowSeconds,
    });
    this.wss = new WebSocketServer({
      server: options.httpServer,
      path: SUBSCRIPTIONS_PATH,
      maxPayload: options.maxPayloadBytes,
      WebSocket: socketClassFor(options.logger),
    });
    this.graphqlWs = useServer<Record<string, unknown> | undefined>(
      {
        schema: options.schema,
        // Close reasons never carry internal error messages, whatever NODE_ENV says.
        isProd: true,
        onConnect: (ctx) => this.connect(ctx),
        onSubscribe: (ctx, _id, payload) => this.subscribe(ctx, payload),
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors ? { ...result, errors: result.errors.map((error) => this.format(error)) } : undefined,
        onError: (_ctx, _id, _payload, errors) => errors.map((error) => this.format(error)),
        onClose: (ctx) => this.disconnect(ctx),
      },
      this.wss,
    );
    this.detachEvents = options.events.onEvents((events) => this.watchCredentials(events));
  }

  stats(): SubscriptionServerStats {
    return { connections: this.connections.size, slowConsumerCloses: this.slowConsumerCloses };
  }

  /** Apollo's drain hook: close every connection (1001) when the server stops. */
  apolloPlugin(): ApolloServerPlugin {
    return {
      serverWillStart: async () => ({
        drainServer: () => this.drain(),
      }),
    };
  }

  /**
   * Asks every client to go away (1001, so graphql-ws clients reconnect elsewhere and
   * resume), waits briefly for the close handshakes, then cuts off whoever did not answer.
   */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      this.detachEvents();
      for (const client of this.wss.clients) {
        client.close(SubscriptionCloseCode.goingAway, 'keyledger is shutting down; reconnect and resume with afterPosition');
      }
      const deadline = Date.now() + this.limits.drainMs;
      while (this.wss.clients.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      for (const client of this.wss.clients) client.terminate();
      await this.graphqlWs.dispose();
    })();
    return this.draining;
  }

  private async connect(ctx: ConnectionContext): Promise<boolean> {
    const { socket, request } = ctx.extra;
    if (!this.options.isStarted()) {
      socket.close(SubscriptionCloseCode.tryAgainLater, 'keyledger is starting; retry shortly');
      return false;
    }
    try {
      const header = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
      if (typeof header !== 'string' || header.length === 0) {
        throw unauthenticated('Authentication required: send connectionParams { authorization: "Bearer <token>" }');
      }
      const bearer = bearerOf(header);
      const ip = this.addressOf(request);
      const authenticate = () => this.options.tokens.authenticate(bearer, ip);
      const principal = await (this.options.authFailures ? this.options.authFailures.guard(ip, authenticate) : authenticate());
      this.options.notices.requireSubscriber(principal);
      const expiresAt = await this.expiryOf(principal);
      // The client may have gone while the credential was being checked.
      if (socket.readyState !== socket.OPEN) return false;
      const connection = new SubscriberConnection(socket, request, bearer, principal, expiresAt);
      this.connections.set(ctx, connection);
      this.watch(connection);
      this.armExpiry(connection);
      return true;
    } catch (error) {
      this.refuse(socket, error);
      return false;
    }
  }

  private refuse(socket: SubscriberConnection['socket'], error: unknown): void {
    const refusal = error instanceof KeyledgerError ? translationOf(error.code).webSocket.connect : null;
    if (refusal) {
      socket.close(refusal.closeCode, closeReason(`${refusal.prefix}: ${(error as KeyledgerError).message}`));
    } else {
      this.options.logger.error({ err: error }, 'WebSocket connection set-up failed');
      socket.close(4500, 'Internal server error');
    }
  }

  private disconnect(ctx: ConnectionContext): void {
    const connection = this.connections.get(ctx);
    if (!connection) return;
    this.connections.delete(ctx);
    connection.release();
    this.unwatch(connection);
    void this.subscribeLimiter.delete(connection.id);
  }

  private async subscribe(
    ctx: ConnectionContext,
    payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  ) {
    const connection = this.connections.get(ctx);
    if (!connection || connection.isClosed) return [graphQLErrorOf(unauthenticated('The connection is not authenticated'))];
    try {
      // Counted before any await, while the ids graphql-ws has entered are exactly the ones in flight.
      const refusal = this.overSubscribed(ctx) ?? (await this.rateLimited(connection)) ?? this.expired(connection);
      if (refusal) return [graphQLErrorOf(refusal)];
      let document: DocumentNode;
      try {
        document = parse(payload.query, { maxTokens: this.options.queryLimits.maxTokens });
      } catch (error) {
        // Deeply nested input can exhaust the parser's stack: a bad request, not a server fault.
        return [error instanceof GraphQLError ? error : graphQLErrorOf(badInput('The query could not be parsed'))];
      }
      const errors = validate(this.options.schema, document, VALIDATION_RULES);
      if (errors.length > 0) return errors;
      const operation = getOperationAST(document, payload.operationName);
      if (operation && operation.operation !== 'subscription') {
        return [graphQLErrorOf(badInput('Only subscriptions are served over WebSocket; send queries and mutations as HTTP POST to /graphql'))];
      }
      if (operation) {
        // Checked here as Apollo does for HTTP: graphql-js would report these untagged, as if they were faults.
        const coerced = getVariableValues(this.options.schema, operation.variableDefinitions ?? [], payload.variables ?? {});
        if (coerced.errors) {
          return coerced.errors.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'BAD_USER_INPUT' } }));
        }
      }
      const tooCostly = complexityRefusal(
        this.options.schema,
        { document, operationName: payload.operationName, variables: payload.variables },
        this.options.queryLimits.maxComplexity,
      );
      if (tooCostly) return [tooCostly];
      return {
        schema: this.options.schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: this.contextFor(connection),
      };
    } catch (error) {
      // Thrown from this hook, graphql-ws would close the whole connection instead of answering.
      return [new GraphQLError('Internal server error', { originalError: error instanceof Error ? error : new Error(String(error)) })];
    }
  }

  private addressOf(request: IncomingMessage): string | undefined {
    return this.options.clientAddress ? this.options.clientAddress(request) : request.socket.remoteAddress;
  }

  private async rateLimited(connection: SubscriberConnection): Promise<KeyledgerError | null> {
    const retryAfter = await consumePoint(this.subscribeLimiter, connection.id);
    if (retryAfter === null) return null;
    return new KeyledgerError(
      'RATE_LIMITED',
      `At most ${this.limits.subscribeMessages} subscribe messages per ${this.limits.subscribeWindowSeconds} seconds on one connection`,
      { retryAfter },
    );
  }

  private overSubscribed(ctx: ConnectionContext): KeyledgerError | null {
    // graphql-ws has already entered the new subscription's id when this runs.
    if (Object.keys(ctx.subscriptions).length <= this.limits.subscriptionsPerConnection) return null;
    return new KeyledgerError(
      'RATE_LIMITED',
      `At most ${this.limits.subscriptionsPerConnection} subscriptions at once on one connection; complete one or open another connection`,
    );
  }

  private expired(connection: SubscriberConnection): KeyledgerError | null {
    if (!this.hasExpired(connection)) return null;
    connection.close(SubscriptionCloseCode.forbidden, EXPIRED);
    return unauthenticated('The credential has expired');
  }

  private contextFor(connection: SubscriberConnection): SubscriptionContext {
    let principal: Promise<Principal> | undefined;
    const context: SubscriptionContext = {
      requestId: randomUUID(),
      ip: this.addressOf(connection.request),
      userAgent: connection.request.headers['user-agent'],
      // Checked again at each subscribe: the credential may have changed since the connection opened.
      principal: () => (principal ??= this.options.tokens.authenticate(connection.bearer, this.addressOf(connection.request))),
      channels: {
        tokenRevoked: async (request) => {
          const stream = await this.options.notices.tokenRevoked(context, request, {
            onOverflow: () => this.dropSlowConsumer(connection),
          });
          if (connection.isClosed) stream.end();
          else connection.track(stream);
          return stream;
        },
      },
    };
    return context;
  }

  private dropSlowConsumer(connection: SubscriberConnection): void {
    if (connection.isClosed) return;
    this.slowConsumerCloses++;
    this.options.logger.warn({ connection: connection.id, tokenId: connection.principal.id }, 'closing a WebSocket subscriber that stopped reading');
    connection.close(
      SubscriptionCloseCode.slowConsumer,
      `Slow consumer: more than ${this.limits.queueLength} notices pending; reconnect with afterPosition`,
    );
  }

  private format(error: GraphQLError): GraphQLFormattedError {
    // Errors thrown by a stream reach graphql-ws without a path, so the formatter would not unwrap them.
    const source = error.originalError instanceof KeyledgerError ? error.originalError : error;
    return this.options.formatError(error.toJSON(), source);
  }

  private async expiryOf(principal: Principal): Promise<Date | null> {
    const self: RequestContext = { requestId: `ws-${randomUUID()}`, principal: async () => principal };
    const record = await this.options.tokens.getToken(self, principal.id);
    return record?.expiresAt ?? null;
  }

  private hasExpired(connection: SubscriberConnection): boolean {
    return connection.expiresAt !== null && connection.expiresAt.getTime() <= this.options.clock.now().getTime();
  }

  private armExpiry(connection: SubscriberConnection): void {
    const expiresAt = connection.expiresAt;
    if (expiresAt === null) return;
    this.atInstant(connection, expiresAt, () => {
      if (connection.expiresAt === expiresAt) connection.close(SubscriptionCloseCode.forbidden, EXPIRED);
    });
  }

  /**
   * Runs `task` once the gateway's clock reaches `instant`. The clock decides, not the timer:
   * a timer may fire a little early, and tests move the clock by hand.
   */
  private atInstant(connection: SubscriberConnection, instant: Date, task: () => void): void {
    connection.schedule(instant.getTime() - this.options.clock.now().getTime(), () => {
      if (this.options.clock.now().getTime() < instant.getTime()) this.atInstant(connection, instant, task);
      else task();
    });
  }

  private watch(connection: SubscriberConnection): void {
    const streamId = tokenStreamId(connection.principal.id);
    const set = this.byCredential.get(streamId) ?? new Set();
    set.add(connection);
    this.byCredential.set(streamId, set);
  }

  private unwatch(connection: SubscriberConnection): void {
    const streamId = tokenStreamId(connection.principal.id);
    const set = this.byCredential.get(streamId);
    set?.delete(connection);
    if (set?.size === 0) this.byCredential.delete(streamId);
  }

  /**
   * A revocation or a pause of a connection's own credential closes it at once; any other change to that
   * credential (a rotation's grace ending, new roles, a new expiry) has it checked again as
   * at connect. Runs after the batch is in the read models, so the check sees the change.
   */
  private watchCredentials(events: readonly RecordedEvent[]): void {
    if (this.connections.size === 0) return;
    // Expiry is also checked with every batch, not only by timer, so a clock moved ahead is noticed.
    for (const connection of this.connections.values()) {
      if (this.hasExpired(connection)) connection.close(SubscriptionCloseCode.forbidden, EXPIRED);
    }
    for (const event of events) {
      const holders = this.byCredential.get(event.streamId);
      if (!holders) continue;
      const notice = revocationNoticeOf(event);
      for (const connection of holders) {
        if (notice?.kind === 'REVOKED') {
          connection.close(SubscriptionCloseCode.forbidden, 'Forbidden: the credential of this connection was revoked');
        } else if (notice?.kind === 'DISABLED') {
          connection.close(SubscriptionCloseCode.forbidden, 'Forbidden: the credential of this connection was disabled');
        } else if (notice) {
          this.atInstant(connection, notice.effectiveAt, () => void this.recheck(connection, ROTATED_OUT));
        } else {
          void this.recheck(connection);
        }
      }
    }
  }

  /** Checks the connection's credential as at connect; `refusal` names the likely cause if it no longer authenticates. */
  private async recheck(connection: SubscriberConnection, refusal?: string): Promise<void> {
    try {
      const principal = await this.options.tokens.authenticate(connection.bearer, this.addressOf(connection.request));
      this.options.notices.requireSubscriber(principal);
      const expiresAt = await this.expiryOf(principal);
      connection.principal = principal;
      if (expiresAt?.getTime() !== connection.expiresAt?.getTime()) {
        connection.expiresAt = expiresAt;
        this.armExpiry(connection);
      }
    } catch (error) {
      if (error instanceof KeyledgerError && translationOf(error.code).webSocket.recheck === 'close') {
        const reason = refusal && error.code === 'UNAUTHENTICATED' ? refusal : `Forbidden: ${error.message}`;
        connection.close(SubscriptionCloseCode.forbidden, reason);
      } else {
        // Throttled or a store hiccup says nothing about the credential: look again shortly.
        this.options.logger.warn({ err: error, connection: connection.id }, 'checking a WebSocket connection credential failed; retrying');
        connection.schedule(RECHECK_RETRY_MS, () => void this.recheck(connection, refusal));
      }
    }
  }
}
