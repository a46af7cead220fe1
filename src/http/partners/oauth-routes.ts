import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { KeyledgerError } from '../../domain/errors';
import { translationOf } from '../../error-table';
import type { CredentialVerifier } from '../../app/credentials/credential-verifier';
import type { OAuthCaller, TokenIntrospection } from '../../app/oauth/token-introspection';
import type { TokenRevocation } from '../../app/oauth/token-revocation';
import type { PartnerClientAuthenticator } from '../../app/partners/partner-client-authenticator';
import { isMissingInput, type PartnerTokenExchange } from '../../app/partners/partner-token-exchange';
import type { PublicUrl } from '../../app/public-url';
import type { RequestContext } from '../../app/request-context';
import type { SigningKeyService } from '../../app/signing-keys/signing-key-service';
import type { Logger } from '../../logger';
import { FormParameters, presentedClient } from './client-authentication';
import { httpRequestContext, type RouterHelpers } from './http-context';
import { BASIC_CHALLENGE, invalidClient, invalidRequest, OAuthError, sendOAuthError } from './oauth-errors';

export const OAUTH_PATHS = {
  token: '/oauth/token',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
  jwks: '/.well-known/jwks.json',
  metadata: '/.well-known/oauth-authorization-server',
} as const;

/** OAuth forms are a handful of short parameters; anything bigger is not one. */
const FORM_LIMIT = '16kb';
const FORM_PARAMETER_LIMIT = 20;
const BEARER_REALM = 'Bearer realm="keyledger"';
const BEARER_CHALLENGE = `${BEARER_REALM}, error="invalid_token"`;

export interface OAuthRouterOptions {
  exchange: PartnerTokenExchange;
  authenticator: PartnerClientAuthenticator;
  verifier: CredentialVerifier;
  introspection: TokenIntrospection;
  revocation: TokenRevocation;
  signingKeys: SigningKeyService;
  publicUrl: PublicUrl;
  logger: Logger;
}

/**
 * The OAuth 2.0 endpoints partner clients and resource servers expect: client_credentials
 * token issuance (RFC 6749 §4.4), introspection (RFC 7662), revocation (RFC 7009), server
 * metadata (RFC 8414) and the JWKS that verifies the issued JWTs.
 */
export function oauthRouter(options: OAuthRouterOptions): (helpers: RouterHelpers) => express.Router {
  return (helpers) => {
    const { logger } = options;
    const router = express.Router();
    const started = helpers.waitForStartup;
    const form = express.urlencoded({ extended: false, limit: FORM_LIMIT, parameterLimit: FORM_PARAMETER_LIMIT });

    const endpoint =
      (handle: (req: Request, res: Response) => Promise<void>): RequestHandler =>
      async (req, res) => {
        try {
          await handle(req, res);
        } catch (error) {
          sendOAuthError(res, asOAuthError(error, res, logger));
        }
      };

    router.post(
      OAUTH_PATHS.token,
      started,
      form,
      endpoint(async (req, res) => {
        const params = FormParameters.of(req);
        const grantType = params.get('grant_type');
        if (grantType === null) throw invalidRequest('The grant_type parameter is required');
        if (grantType !== 'client_credentials') {
          throw new OAuthError(400, 'unsupported_grant_type', 'Only the client_credentials grant is supported');
        }
        const client = presentedClient(req, params, { bearer: false });
        if (client.method === 'none' || client.method === 'bearer') throw invalidClient('Client authentication is required');
        await helpers.chargeMutation(req, null);
        let issued;
        try {
          issued = await options.exchange.exchangePartnerCredential(httpRequestContext(req, res), {
            apiKey: client.clientId,
            apiSecret: client.clientSecret,
            tenantId: params.get('tenant_id'),
            subTenantId: params.get('sub_tenant_id'),
          });
        } catch (error) {
          if (isMissingInput(error, 'tenantId')) throw invalidRequest('The tenant_id parameter is required');
          if (isMissingInput(error, 'subTenantId')) throw invalidRequest('The sub_tenant_id parameter is required');
          if (error instanceof KeyledgerError && error.code === 'FORBIDDEN') {
            throw new OAuthError(400, 'unauthorized_client', 'The client may not obtain tokens for this tenant_id and sub_tenant_id');
          }
          throw error;
        }
        noStore(res);
        res.status(200).json({ access_token: issued.accessToken, token_type: issued.tokenType, expires_in: issued.expiresIn });
      }),
    );

    router.post(
      OAUTH_PATHS.introspection,
      started,
      form,
      endpoint(async (req, res) => {
        const params = FormParameters.of(req);
        const { caller } = await authenticateCaller(req, res, params, options);
        const token = params.get('token');
        if (token === null) throw invalidRequest('The token parameter is required');
        const result = await options.introspection.introspect(caller, token, {
          tenantId: params.get('tenant_id'),
          subTenantId: params.get('sub_tenant_id'),
        });
        noStore(res);
        res.status(200).json(result);
      }),
    );

    router.post(
      OAUTH_PATHS.revocation,
      started,
      form,
      endpoint(async (req, res) => {
        const params = FormParameters.of(req);
        const { caller, ctx } = await authenticateCaller(req, res, params, options);
        await helpers.chargeMutation(req, caller.type === 'bearer' ? caller.principal.id : caller.credential.id);
        const token = params.get('token');
        if (token === null) throw invalidRequest('The token parameter is required');
        await options.revocation.revoke(caller, ctx, token);
        noStore(res);
        res.status(200).end();
      }),
    );

    for (const path of [OAUTH_PATHS.token, OAUTH_PATHS.introspection, OAUTH_PATHS.revocation]) {
      router.all(path, (_req, res) => {
        res.setHeader('allow', 'POST');
        sendOAuthError(res, new OAuthError(405, 'invalid_request', 'This endpoint accepts POST only'));
      });
    }

    router.get(OAUTH_PATHS.jwks, started, (_req, res) => {
      // Short enough that a verifier sees a rotated-in key soon; verifiers also refetch on an unknown kid.
      res.setHeader('cache-control', 'public, max-age=300');
      res.json(options.signingKeys.jwks());
    });

    router.get(OAUTH_PATHS.metadata, (_req, res) => {
      const base = options.publicUrl.value;
      res.setHeader('cache-control', 'public, max-age=3600');
      res.json({
        issuer: base,
        token_endpoint: `${base}${OAUTH_PATHS.token}`,
        introspection_endpoint: `${base}${OAUTH_PATHS.introspection}`,
        revocation_endpoint: `${base}${OAUTH_PATHS.revocation}`,
        jwks_uri: `${base}${OAUTH_PATHS.jwks}`,
        grant_types_supported: ['client_credentials'],
        response_types_supported: [],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'bearer'],
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'bearer'],
      });
    });

    const bodyErrors: ErrorRequestHandler = (error, _req, res, _next) => {
      const status = typeof error?.status === 'number' ? (error.status as number) : 500;
      if (status === 413) return sendOAuthError(res, new OAuthError(413, 'invalid_request', `The form exceeds ${FORM_LIMIT} or ${FORM_PARAMETER_LIMIT} parameters`));
      if (status === 415) return sendOAuthError(res, new OAuthError(415, 'invalid_request', 'The request body must be UTF-8'));
      if (status >= 400 && status < 500) return sendOAuthError(res, invalidRequest('The request body is not a valid form'));
      logger.error({ err: error, requestId: res.locals.requestId }, 'unhandled error at an OAuth endpoint');
      sendOAuthError(res, new OAuthError(500, 'server_error', 'Internal server error'));
    };
    router.use(bodyErrors);
    return router;
  };
}

/**
 * Introspection and revocation take either a keyledger bearer token or partner client
 * credentials. A failed bearer is `invalid_token` (RFC 6750), a failed client `invalid_client`.
 */
async function authenticateCaller(
  req: Request,
  res: Response,
  params: FormParameters,
  options: OAuthRouterOptions,
): Promise<{ caller: OAuthCaller; ctx: RequestContext }> {
  const client = presentedClient(req, params, { bearer: true });
  switch (client.method) {
    case 'none':
      throw new OAuthError(401, 'invalid_client', 'Authenticate with a keyledger bearer token or the client credentials', {
        'www-authenticate': `${BASIC_CHALLENGE}, Bearer realm="keyledger"`,
      });
    case 'bearer': {
      let principal;
      try {
        principal = await options.verifier.authenticate(client.token, req.ip);
      } catch (error) {
        if (error instanceof KeyledgerError && error.code === 'UNAUTHENTICATED') {
          throw new OAuthError(401, 'invalid_token', error.message, { 'www-authenticate': BEARER_CHALLENGE });
        }
        throw error;
      }
      const ctx = httpRequestContext(req, res, async () => principal);
      return { caller: { type: 'bearer', principal, ctx }, ctx };
    }
    default: {
      const ctx = httpRequestContext(req, res);
      const credential = await options.authenticator.authenticate(client.clientId, client.clientSecret, ctx.ip);
      return { caller: { type: 'partner', credential }, ctx };
    }
  }
}

function noStore(res: Response): void {
  res.setHeader('cache-control', 'no-store');
  res.setHeader('pragma', 'no-cache');
}

function asOAuthError(error: unknown, res: Response, logger: Logger): OAuthError {
  if (error instanceof OAuthError) return error;
  const oauth = error instanceof KeyledgerError ? translationOf(error.code).oauth : null;
  if (oauth && error instanceof KeyledgerError) {
    const headers: Record<string, string> = {};
    if (oauth.challenge === 'basic') headers['www-authenticate'] = BASIC_CHALLENGE;
    if (oauth.challenge === 'insufficient_scope') headers['www-authenticate'] = `${BEARER_REALM}, error="insufficient_scope"`;
    if (oauth.retryAfter === 'details') headers['retry-after'] = String(error.details.retryAfter ?? 60);
    else if (oauth.retryAfter !== undefined) headers['retry-after'] = String(oauth.retryAfter);
    return new OAuthError(oauth.status, oauth.error, error.message, headers);
  }
  logger.error({ err: error, requestId: res.locals.requestId }, 'unhandled error at an OAuth endpoint');
  return new OAuthError(500, 'server_error', 'Internal server error');
}
