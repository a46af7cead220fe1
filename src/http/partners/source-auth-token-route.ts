import express, { type Response } from 'express';
import { KeyledgerError } from '../../domain/errors';
import { translationOf } from '../../error-table';
import { isMissingInput, type PartnerTokenExchange } from '../../app/partners/partner-token-exchange';
import type { Logger } from '../../logger';
import { headerValue, httpRequestContext, type RouterHelpers } from './http-context';

/** The source system's path, kept so partners switch by changing the host only. */
export const SOURCE_AUTH_TOKEN_PATH = '/api/v1/partner/dashboard/auth/token';

/** The source system's documented bodies, byte for byte. */
export const SourceResponses = {
  success: (token: string) => ({ code: 'RESPONSE_SUCCESS', message: 'Request served successfully.', type: 'object', data: { token } }),
  tenantRequired: { success: false, message: 'Tenant ID is required' },
  subTenantRequired: { success: false, message: 'Subtenant ID is required' },
  forbidden: { success: false, message: 'Forbidden' },
  rateLimited: { success: false, message: 'Rate limit exceeded. Try again in 60 seconds.' },
  serverError: { success: false, message: 'Internal server error' },
} as const;

/**
 * `GET /api/v1/partner/dashboard/auth/token` with the source system's headers and bodies:
 * the same exchange as GraphQL and OAuth, answered in the shape existing partners parse.
 */
export function sourceAuthTokenRouter(options: { exchange: PartnerTokenExchange; logger: Logger }): (helpers: RouterHelpers) => express.Router {
  return (helpers) => {
    const router = express.Router();
    // Express would answer HEAD with the GET handler, which would issue a token nobody receives.
    router.head(SOURCE_AUTH_TOKEN_PATH, (_req, res) => {
      res.setHeader('allow', 'GET');
      res.status(405).end();
    });
    router.get(
      SOURCE_AUTH_TOKEN_PATH,
      helpers.waitForStartup,
      async (req, res) => {
        res.setHeader('cache-control', 'no-store');
        try {
          await helpers.chargeMutation(req, null);
          const issued = await options.exchange.exchangePartnerCredential(httpRequestContext(req, res), {
            apiKey: headerValue(req, 'x-api-key') ?? '',
            apiSecret: headerValue(req, 'x-api-secret') ?? '',
            tenantId: headerValue(req, 'x-tenant-id'),
            subTenantId: headerValue(req, 'x-sub-tenant-id'),
          });
          res.status(200).json(SourceResponses.success(issued.accessToken));
        } catch (error) {
          sendSourceError(res, error, options.logger);
        }
      },
    );
    return router;
  };
}

function sendSourceError(res: Response, error: unknown, logger: Logger): void {
  if (error instanceof KeyledgerError) {
    const badUserInput = error.code === 'BAD_USER_INPUT';
    if (badUserInput && isMissingInput(error, 'tenantId')) return void res.status(400).json(SourceResponses.tenantRequired);
    if (badUserInput && isMissingInput(error, 'subTenantId')) return void res.status(400).json(SourceResponses.subTenantRequired);
    const { zipteams } = translationOf(error.code);
    if (zipteams.retryAfter) res.setHeader('retry-after', String(error.details.retryAfter ?? 60));
    return void res.status(zipteams.status).json(SourceResponses[zipteams.body]);
  }
  logger.error({ err: error, requestId: res.locals.requestId }, 'partner token exchange failed');
  res.status(500).json(SourceResponses.serverError);
}
