import express, { type ErrorRequestHandler, type Request, type Router } from 'express';
import type { IntegrationKeyAddress, IntegrationKeyService } from '../app/tokens/integration-key-service';
import { KeyledgerError, type ErrorCode } from '../domain/errors';
import type { RouteHelpers } from './app';

export const INTEGRATION_KEYS_PATH = '/v2/apps/:appId/integrations/:integrationId/keys';

/** Status and error code per keyledger error, in the seed API's vocabulary. */
const OUTCOME: Record<ErrorCode, { status: number; code: string }> = {
  BAD_USER_INPUT: { status: 400, code: 'bad_request' },
  UNAUTHENTICATED: { status: 401, code: 'unauthorized' },
  FORBIDDEN: { status: 403, code: 'forbidden' },
  NOT_FOUND: { status: 404, code: 'not_found' },
  CONFLICT: { status: 409, code: 'conflict' },
  RATE_LIMITED: { status: 429, code: 'too_many_requests' },
  UNAVAILABLE: { status: 503, code: 'service_unavailable' },
  INTERNAL_SERVER_ERROR: { status: 500, code: 'internal_server_error' },
};

export interface IntegrationKeysRouterOptions {
  integrationKeys: IntegrationKeyService;
  bodyLimit: string;
  reportError(error: unknown, req: Request): void;
}

/** Errors in the shape the seed API uses: a list of `{code, title}`. */
function errorBody(code: string, title: string) {
  return { errors: [{ code, title }] };
}

/**
 * The seed-compatible REST shape for integration keys (Sunshine Conversations'
 * `/v2/apps/{appId}/integrations/{integrationId}/keys`), where the app is the tenant.
 * Thin: parse, call the integration key service, map the outcome.
 */
export const integrationKeysRouter = (options: IntegrationKeysRouterOptions) => (helpers: RouteHelpers): Router => {
  const router = express.Router();
  const service = options.integrationKeys;
  const contextOf = helpers.contextOf;
  router.use(INTEGRATION_KEYS_PATH, helpers.waitForStartup);
  const address = (req: Request): IntegrationKeyAddress => ({ appId: String(req.params.appId), integrationId: String(req.params.integrationId) });

  router.post(`${INTEGRATION_KEYS_PATH}`, helpers.limitMutation, express.json({ limit: options.bodyLimit }), async (req, res) => {
    const body: unknown = req.body;
    const displayName = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).displayName : undefined;
    const key = await service.create(contextOf(req, res), address(req), displayName);
    // The only response that ever holds the secret: no cache may keep it.
    res.status(201).setHeader('cache-control', 'no-store').json({ key });
  });

  router.get(`${INTEGRATION_KEYS_PATH}`, async (req, res) => {
    res.json({ keys: await service.list(contextOf(req, res), address(req)) });
  });

  router.get(`${INTEGRATION_KEYS_PATH}/:keyId`, async (req, res) => {
    res.json({ key: await service.get(contextOf(req, res), address(req), String(req.params.keyId)) });
  });

  router.delete(`${INTEGRATION_KEYS_PATH}/:keyId`, helpers.limitMutation, async (req, res) => {
    await service.delete(contextOf(req, res), address(req), String(req.params.keyId));
    res.status(200).json({});
  });

  router.all([INTEGRATION_KEYS_PATH, `${INTEGRATION_KEYS_PATH}/:keyId`], (_req, res) => {
    res.status(405).json(errorBody('method_not_allowed', 'This method is not supported here'));
  });

  const errors: ErrorRequestHandler = (error, req, res, _next) => {
    if (error instanceof KeyledgerError) {
      const { status, code } = OUTCOME[error.code] ?? OUTCOME.INTERNAL_SERVER_ERROR;
      if (status === 401) res.setHeader('www-authenticate', 'Bearer');
      if (error.code === 'RATE_LIMITED' && typeof error.details.retryAfter === 'number') res.setHeader('retry-after', String(error.details.retryAfter));
      res.status(status).json(errorBody(code, error.message));
      return;
    }
    if (error?.type === 'entity.parse.failed') {
      res.status(400).json(errorBody('bad_request', 'The request body is not valid JSON'));
      return;
    }
    if (error?.type === 'entity.too.large') {
      res.status(413).json(errorBody('payload_too_large', `The request body exceeds the limit of ${options.bodyLimit}`));
      return;
    }
    if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      res.status(error.status).json(errorBody('bad_request', 'The request is malformed'));
      return;
    }
    options.reportError(error, req);
    res.status(500).json(errorBody('internal_server_error', 'Internal server error'));
  };
  router.use(errors);
  return router;
};
