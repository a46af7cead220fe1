import { timeOrderedUuid } from '../crypto/time-ordered-uuid';
import type { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { unauthenticated } from '../domain/errors';
import type { Principal, RequestContext } from '../app/request-context';
import { authFailureLocked, type AuthFailureLimiter, type MutationLimiter } from '../app/rate-limits';
import type { TrustProxy } from '../config';
import type { Logger } from '../logger';
import { clientAddressOf } from './client-address';
import { byteLimit } from '../graphql/limits';
import { readPlainJsonBody } from './json-body';
import type { GatewayMetrics } from './metrics';
import type { PreparedQueries, PreparedRequest } from '../graphql/prepared-queries';

export interface HttpAppOptions {
  apollo: ApolloServer<RequestContext>;
  /** Queries and mutations Apollo has already accepted, answered without its request pipeline. */
  preparedQueries?: PreparedQueries;
  metrics: GatewayMetrics;
  logger: Logger;
  bodyLimit: string;
  /** `ip` is the client's address, for per-client limits. */
  authenticate(
    credential: string,
    ip?: string,
    request?: { requestId: string; userAgent?: string; addressChecked?: boolean; integrationKeyForms?: boolean },
  ): Promise<Principal>;
  /** Which proxies may name the client in X-Forwarded-For; `req.ip` is the address limits charge. */
  trustProxy: TrustProxy;
  mutations: MutationLimiter;
  authFailures: AuthFailureLimiter;
  /** REST routers beside /graphql, mounted before the 404 handler. */
  routers?: ReadonlyArray<(helpers: RouteHelpers) => RequestHandler>;
  /** True once the read models have caught up and start-up work is done. */
  isReady(): boolean;
  /**
   * Resolves true once start-up is done, false if not within the wait. GraphQL waits for this
   * only, not for readiness: after start-up, reads keep being served from the local read models
   * while the event feed is down, and writes fail on their own with UNAVAILABLE.
   */
  whenStarted(timeoutMs: number): boolean | Promise<boolean>;
}

/** What a REST router needs from the app so that it behaves like /graphql. */
export interface RouteHelpers {
  /** The request context GraphQL gets: request id, client, bearer authentication (once per request). */
  contextOf(req: Request, res: Response): RequestContext;
  /** Holds a request until start-up is done, or answers 503. */
  waitForStartup: RequestHandler;
  /**
   * Charges a state-changing request to the client's address and, when it authenticated, to
   * its credential; throws RATE_LIMITED (with `retryAfter`) when either budget is spent.
   */
  chargeMutation(req: Request, principalId: string | null): Promise<void>;
  /** `chargeMutation` as middleware for routes that require a bearer: authenticates, then charges. */
  limitMutation: RequestHandler;
  /**
   * Middleware: the request may also authenticate with an integration key as Sunshine
   * Conversations clients send it, `Authorization: Basic base64(keyId:secret)` or
   * `Bearer <HS256 JWT>`, besides a bearer secret.
   */
  acceptIntegrationKeys: RequestHandler;
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
const STARTUP_WAIT_MS = 10_000;

function graphQLErrorBody(message: string, code: string) {
  return { errors: [{ message, extensions: { code } }] };
}

/** Parses `Authorization: Bearer <token>`; anything else is UNAUTHENTICATED, with a reason. */
export function bearerOf(header: string | undefined): string {
  if (!header) throw unauthenticated('Authentication required: send Authorization: Bearer <token>');
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>"');
  return match[1];
}

/** `Bearer <credential>`, or the whole `Basic <base64>` credential, which the verifier decodes itself. */
export function bearerOrBasicOf(header: string | undefined): string {
  if (header && /^Basic +\S+ *$/i.test(header)) return header.trim();
  if (!header) throw unauthenticated('Authentication required: send Authorization: Bearer <token> or Basic <key id:secret>');
  if (!/^Bearer +\S+ *$/i.test(header)) throw unauthenticated('The Authorization header must be "Bearer <token>" or "Basic <base64 of key id:secret>"');
  return bearerOf(header);
}

/**
 * A request as its handlers read it, whether or not express has given it its methods:
 * /graphql requests get them only when a handler needs them (see `listener`).
 */
type AnyRequest = IncomingMessage & { ip?: string; body?: unknown };
type AnyResponse = ServerResponse & { locals: Record<string, unknown> };

/**
 * The client's address, by the rule of `req.ip` under the app's `trust proxy` setting, worked
 * out once per request (by `requestIds`): express works it out anew on every read, and
 * without trusted proxies it is simply the socket's peer.
 */
function clientIpOf(req: AnyRequest, res: AnyResponse): string | undefined {
  return 'clientIp' in res.locals ? (res.locals.clientIp as string | undefined) : req.ip;
}

function requestContext(req: AnyRequest, res: AnyResponse, authenticate: HttpAppOptions['authenticate']): RequestContext {
  const requestId = res.locals.requestId as string;
  const ip = clientIpOf(req, res);
  const userAgent = req.headers['user-agent'];
  let principal: Promise<Principal> | undefined;
  return {
    requestId,
    ip,
    userAgent,
    principal() {
      const integrationKeyForms = res.locals.integrationKeyForms === true;
      principal ??= Promise.resolve().then(() =>
        authenticate((integrationKeyForms ? bearerOrBasicOf : bearerOf)(req.headers.authorization), ip, {
          requestId,
          userAgent,
          addressChecked: res.locals.addressChecked === true,
          integrationKeyForms,
        }),
      );
      return principal;
    },
  };
}

/** One context per request, however many routes and middlewares ask, so a credential is checked (and charged) once. */
function memoizedContext(req: AnyRequest, res: AnyResponse, authenticate: HttpAppOptions['authenticate']): RequestContext {
  const existing = res.locals.requestContext as RequestContext | undefined;
  if (existing) return existing;
  const created = requestContext(req, res, authenticate);
  res.locals.requestContext = created;
  return created;
}

/** A request target without its query string. */
function withoutQuery(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * A request target's path without its query string, as express's `req.path` reads it, also
 * for a target in absolute form (`http://host/path`).
 */
function pathOf(url: string): string {
  const path = withoutQuery(url);
  if (path.startsWith('/')) return path;
  try {
    return new URL(path).pathname;
  } catch {
    return path;
  }
}

/** Whether `url` is /graphql or below it, matched as express mounts a path: case-insensitively, by whole segments. */
function isGraphQLPath(url: string): boolean {
  const path = withoutQuery(url).toLowerCase();
  return path === '/graphql' || path.startsWith('/graphql/');
}

/**
 * The gateway's HTTP handling: `listener` is what the HTTP server calls for every request;
 * `express` is the application behind it, which answers every path but /graphql.
 */
export interface HttpApp {
  listener(req: IncomingMessage, res: ServerResponse): void;
  express: express.Express;
}

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', options.trustProxy);

  const addressOf = clientAddressOf(options.trustProxy);
  const requestIds = (req: AnyRequest, res: AnyResponse, next: () => void) => {
    res.locals.clientIp = addressOf(req);
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : timeOrderedUuid();
    res.locals.requestId = requestId;
    res.setHeader('x-request-id', requestId);
    // Below the info level the line would be dropped anyway: no listener, no clock read.
    if (!logger.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    // The path only: query strings may carry GraphQL variables, and so secrets.
    const path = pathOf(req.url ?? '/');
    res.on('finish', () => {
      logger.info(
        { requestId, method: req.method, path, status: res.statusCode, durationMs: Number(process.hrtime.bigint() - started) / 1e6 },
        'request',
      );
    });
    next();
  };
  // Every request express answers gets its id first (/graphql gets its own in `listener`).
  app.use(requestIds);

  const waitForStartup: RequestHandler = async (_req, res, next) => {
    const started = options.whenStarted(STARTUP_WAIT_MS);
    // Once started, the answer is at hand: no turn of the event loop is spent waiting for it.
    if (started === true || (started !== false && (await started))) return next();
    refuseWhileStarting(res);
  };
  const refuseWhileStarting = (res: Response) => {
    res.status(503).setHeader('retry-after', '5').json(graphQLErrorBody('keyledger is starting; retry shortly', 'INTERNAL_SERVER_ERROR'));
  };

  // A locked-out address is answered before its credential is read, let alone checked.
  const refuseLockedAddress = async (req: AnyRequest, res: AnyResponse): Promise<boolean> => {
    if (req.headers.authorization === undefined) return false;
    const retryAfter = await options.authFailures.lockedFor(clientIpOf(req, res));
    if (retryAfter === null) {
      // Authentication later in this request need not read the counter again.
      res.locals.addressChecked = true;
      return false;
    }
    const refusal = authFailureLocked(retryAfter);
    withExpress(req, res)
      .res.status(429)
      .setHeader('retry-after', String(retryAfter))
      .json({ errors: [{ message: refusal.message, extensions: { code: refusal.code, retryAfter } }] });
    return true;
  };

  const parseJson = express.json({ limit: options.bodyLimit });
  const limitBytes = byteLimit(options.bodyLimit);
  const apollo = expressMiddleware(options.apollo, {
    context: async ({ req, res }) => memoizedContext(req, res, options.authenticate),
  });
  const answerPrepared = async (request: PreparedRequest, req: AnyRequest, res: AnyResponse) => {
    const started = process.hrtime.bigint();
    const answer = await options.preparedQueries!.run(request, memoizedContext(req, res, options.authenticate));
    options.metrics.recordOperation(request.operation, answer.failed, started, true);
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    if (!answer.headers.has('cache-control')) res.setHeader('cache-control', 'no-store');
    res.writeHead(answer.status, ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(answer.body))]);
    res.end(answer.body);
  };
  /**
   * /graphql as one handler rather than a chain of four: each handler the router passes a
   * request through costs a path match and a prefix trim, on the path every verification takes.
   * In order: held until start-up is done, refused when its address is locked out, the JSON
   * body parsed, then a prepared operation executed directly or Apollo.
   */
  const graphql = async (req: AnyRequest, res: AnyResponse, next: (error?: unknown) => void): Promise<void> => {
    const started = options.whenStarted(STARTUP_WAIT_MS);
    if (started !== true && !(started !== false && (await started))) return refuseWhileStarting(withExpress(req, res).res);
    if (await refuseLockedAddress(req, res)) return;
    const parsed = (error?: unknown) => {
      if (error) return next(error);
      const prepared = req.method === 'POST' ? options.preparedQueries?.match(req.body, req.headers.accept) : null;
      if (prepared) return void answerPrepared(prepared, req, res).catch(next);
      const served = withExpress(req, res);
      Promise.resolve(apollo(served.req, served.res, next)).catch(next);
    };
    if (readPlainJsonBody(req, limitBytes, parsed)) return;
    const served = withExpress(req, res);
    parseJson(served.req, served.res, parsed);
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const ready = options.isReady();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.setHeader('content-type', options.metrics.registry.contentType);
      res.send(await options.metrics.registry.metrics());
    } catch (error) {
      next(error);
    }
  });

  const chargeMutation: RouteHelpers['chargeMutation'] = async (req, principalId) => {
    await options.mutations.chargeAddress(req.ip);
    if (principalId !== null) await options.mutations.chargePrincipal(principalId);
  };
  const helpers: RouteHelpers = {
    contextOf: (req, res) => memoizedContext(req, res, options.authenticate),
    waitForStartup,
    chargeMutation,
    acceptIntegrationKeys(_req, res, next) {
      res.locals.integrationKeyForms = true;
      next();
    },
    async limitMutation(req, res, next) {
      const principal = await memoizedContext(req, res, options.authenticate).principal();
      await chargeMutation(req, principal.id);
      next();
    },
  };
  for (const router of options.routers ?? []) app.use(router(helpers));

  const notFound = (res: Response) => {
    res.status(404).json({ error: 'not_found', message: 'No such endpoint' });
  };
  app.use((_req, res) => notFound(res));

  const errors: ErrorRequestHandler = (error, req, res, _next) => {
    const status = typeof error?.status === 'number' ? (error.status as number) : 500;
    if (status === 413) {
      res.status(413).json(graphQLErrorBody(`The request body exceeds the limit of ${options.bodyLimit}`, 'BAD_USER_INPUT'));
      return;
    }
    if (status >= 400 && status < 500) {
      const message = error?.type === 'entity.parse.failed' ? 'The request body is not valid JSON' : 'The request is malformed';
      res.status(status).json(graphQLErrorBody(message, 'BAD_USER_INPUT'));
      return;
    }
    logger.error({ err: error, requestId: res.locals.requestId, path: req.path }, 'unhandled error');
    res.status(500).json(graphQLErrorBody('Internal server error', 'INTERNAL_SERVER_ERROR'));
  };
  app.use(errors);

  /*
   * /graphql (and below it, matched as express mounts a path) is answered here rather than by
   * express's router, on the path every verification and every mutation takes, and a prepared
   * operation is answered with node's own request and response. Before its first middleware
   * runs, the router spends a final handler, a path parse, a layer match and a closure per
   * step on each request, and express gives the request and response its methods by changing
   * their prototypes, which measured as the larger part of the two costs (the README's
   * benchmark history has the figures). The handlers are the ones express would run, in the
   * same order (request id, start-up wait, address lock, JSON body, then a prepared operation
   * or Apollo), and a request is given express's methods as express's own `app.handle` gives
   * them (`withExpress`) before any handler that uses them: Apollo, express.json, the
   * refusals and the error handler.
   */
  const withExpress = (req: AnyRequest, res: AnyResponse): { req: Request; res: Response } => {
    if (Object.getPrototypeOf(res) !== app.response) {
      Object.setPrototypeOf(req, app.request);
      Object.setPrototypeOf(res, app.response);
      Object.assign(req, { res });
      Object.assign(res, { req });
    }
    return { req: req as Request, res: res as unknown as Response };
  };
  const graphqlDone = (req: AnyRequest, res: AnyResponse) => (error?: unknown) => {
    // As express's final handler does once an answer has begun: the connection is all that is left to end.
    if (res.headersSent) return void req.socket.destroy();
    const served = withExpress(req, res);
    if (error) return errors(error, served.req, served.res, () => {});
    notFound(served.res);
  };
  const listener = (req: IncomingMessage, outgoing: ServerResponse): void => {
    if (!isGraphQLPath(req.url ?? '/')) return void app(req, outgoing);
    const res = Object.assign(outgoing, { locals: Object.create(null) as Record<string, unknown> });
    const done = graphqlDone(req, res);
    requestIds(req, res, () => {
      graphql(req, res, done).catch(done);
    });
  };
  return { listener, express: app };
}
