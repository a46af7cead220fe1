import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { ConnectionService } from '../app/connections/connection-service';
import { consumePoint, rateLimited, type LimiterFactory } from '../app/rate-limits';
import type { RequestContext } from '../app/request-context';
import { CONNECTION_NOT_FOUND } from '../domain/connections';
import { badInput, KeyledgerError, type ErrorCode } from '../domain/errors';
import type { ConnectionRecord } from '../../projections/connections';
import type { RouteHelpers } from './app';
import { methodNotAllowed, requireJsonBody, restErrorHandler } from './rest-errors';
import { errorColumn } from '../error-table';

export const CONNECTIONS_PATH = '/api/services/zis/integrations/:integration/connections/api_key';

/**
 * Error code per keyledger error, in the vocabulary of the Zendesk ZIS Connections API. Each
 * documented status has exactly one code there, and clients switch on it: every 400 is
 * `InvalidIntegration` as documented, and the title says which input was refused.
 */
const CODES: Record<ErrorCode, string> = errorColumn('zis');

/** Domain fields by their name in this API's JSON, so that messages name what the client sent. */
const JSON_NAMES: Record<string, string> = { headerName: 'header_name', apiKey: 'api_key', allowedDomain: 'allowed_domain' };

export interface ConnectionsRouterOptions {
  connections: ConnectionService;
  bodyLimit: string;
  /** Requests per minute per caller on these routes. */
  requestsPerMinute: number;
  /** Where the per-caller counters live. */
  limiters: LimiterFactory;
  reportError(error: unknown, req: Request): void;
}

/** The connection in Zendesk's JSON: snake_case, the key redacted. */
function toJson(record: ConnectionRecord) {
  return {
    api_key: {
      name: record.name,
      header_name: record.headerName,
      api_key: '*****',
      allowed_domain: record.allowedDomain,
      created_at: record.createdAt.toISOString(),
      updated_at: record.updatedAt.toISOString(),
    },
  };
}

function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badInput('The request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** A string field; missing is undefined, any other type is refused without echoing the value. */
function field(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw badInput(`${name} is required`, name);
    return undefined;
  }
  if (typeof value !== 'string') throw badInput(`${name} must be a string`, name);
  return value;
}

/**
 * The seed-compatible REST shape for API-key connections (Zendesk ZIS
 * `/api/services/zis/integrations/{integration}/connections/api_key`), acting in the
 * caller's tenant. Thin: authenticate, rate-limit per caller, parse, call the connection
 * service, map the outcome.
 */
export const connectionsRouter = (options: ConnectionsRouterOptions) => (helpers: RouteHelpers): Router => {
  const router = express.Router();
  const service = options.connections;
  const limiter = options.limiters.create({ name: 'connections-rest', points: options.requestsPerMinute, durationSeconds: 60 });
  const item = `${CONNECTIONS_PATH}/:name`;
  const ctxOf = (res: Response) => res.locals.connectionsContext as RequestContext;

  const authenticateAndLimit: RequestHandler = async (req, res, next) => {
    const ctx = helpers.contextOf(req, res);
    const caller = await ctx.principal();
    const retryAfter = await consumePoint(limiter, caller.id);
    if (retryAfter !== null) throw rateLimited(retryAfter, 'Too many requests');
    res.locals.connectionsContext = ctx;
    next();
  };
  router.use([CONNECTIONS_PATH, item], helpers.waitForStartup);
  router.post(CONNECTIONS_PATH, authenticateAndLimit, helpers.limitMutation, requireJsonBody, express.json({ limit: options.bodyLimit }), async (req, res) => {
    const body = bodyOf(req);
    const record = await service.create(ctxOf(res), {
      integration: String(req.params.integration),
      name: field(body, 'name', true)!,
      headerName: field(body, 'header_name', true)!,
      apiKey: field(body, 'api_key', true)!,
      allowedDomain: field(body, 'allowed_domain', true)!,
    });
    res.status(201).json(toJson(record));
  });

  router.get(item, authenticateAndLimit, async (req, res) => {
    const record = await service.get(ctxOf(res), { integration: String(req.params.integration), name: String(req.params.name) });
    if (!record) throw new KeyledgerError('NOT_FOUND', CONNECTION_NOT_FOUND);
    res.json(toJson(record));
  });

  router.patch(item, authenticateAndLimit, helpers.limitMutation, requireJsonBody, express.json({ limit: options.bodyLimit }), async (req, res) => {
    const body = bodyOf(req);
    await service.update(ctxOf(res), {
      integration: String(req.params.integration),
      name: String(req.params.name),
      headerName: field(body, 'header_name', false),
      apiKey: field(body, 'api_key', false),
      allowedDomain: field(body, 'allowed_domain', false),
    });
    res.status(204).end();
  });

  router.delete(item, authenticateAndLimit, helpers.limitMutation, async (req, res) => {
    await service.delete(ctxOf(res), { integration: String(req.params.integration), name: String(req.params.name) });
    res.status(204).end();
  });

  router.all(CONNECTIONS_PATH, methodNotAllowed('POST', 'MethodNotAllowed'));
  router.all(item, methodNotAllowed('GET, HEAD, PATCH, DELETE', 'MethodNotAllowed'));

  router.use(
    restErrorHandler({
      codes: CODES,
      payloadTooLarge: 'PayloadTooLarge',
      bodyLimit: options.bodyLimit,
      reportError: options.reportError,
      describe: (error, code) => {
        const fieldName = typeof error.details.field === 'string' ? error.details.field : null;
        const title = fieldName && JSON_NAMES[fieldName] ? error.message.replace(fieldName, JSON_NAMES[fieldName]) : error.message;
        return { code, title: fieldName === 'integration' ? `Specified integration is not valid: ${title}` : title };
      },
    }),
  );
  return router;
};
