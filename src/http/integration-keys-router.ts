import express, { type Request, type Router } from 'express';
import type { IntegrationKeyAddress, IntegrationKeyService } from '../app/tokens/integration-key-service';
import type { ErrorCode } from '../domain/errors';
import type { RouteHelpers } from './app';
import { methodNotAllowed, requireJsonBody, restErrorHandler } from './rest-errors';
import { errorColumn } from '../error-table';

export const INTEGRATION_KEYS_PATH = '/v2/apps/:appId/integrations/:integrationId/keys';

/** Error code per keyledger error, in the seed API's vocabulary. */
const CODES: Record<ErrorCode, string> = errorColumn('sunshine');

export interface IntegrationKeysRouterOptions {
  integrationKeys: IntegrationKeyService;
  bodyLimit: string;
  reportError(error: unknown, req: Request): void;
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
  router.use(INTEGRATION_KEYS_PATH, helpers.acceptIntegrationKeys);
  router.use(INTEGRATION_KEYS_PATH, helpers.waitForStartup);
  const address = (req: Request): IntegrationKeyAddress => ({ appId: String(req.params.appId), integrationId: String(req.params.integrationId) });

  router.post(`${INTEGRATION_KEYS_PATH}`, helpers.limitMutation, requireJsonBody, express.json({ limit: options.bodyLimit }), async (req, res) => {
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

  router.all(INTEGRATION_KEYS_PATH, methodNotAllowed('GET, HEAD, POST'));
  router.all(`${INTEGRATION_KEYS_PATH}/:keyId`, methodNotAllowed('GET, HEAD, DELETE'));

  router.use(
    restErrorHandler({
      codes: CODES,
      payloadTooLarge: 'payload_too_large',
      bodyLimit: options.bodyLimit,
      reportError: options.reportError,
      // Sunshine clients authenticate with Basic (key id and secret) or a bearer (a JWT signed with the secret, or a keyledger token).
      challenge: 'Basic realm="keyledger", Bearer',
    }),
  );
  return router;
};
