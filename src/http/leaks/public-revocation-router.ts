import express, { type Request, type Router } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { LeakedCredentials } from '../../app/leaks/leaked-credentials';
import { consumePoint, rateLimited, UNKNOWN_ADDRESS, type LimiterFactory } from '../../app/rate-limits';
import type { RouteHelpers } from '../app';
import { methodNotAllowed, requireJsonBody } from '../rest-errors';
import { leakErrorHandler, leakRefusal } from './leak-errors';

export const PUBLIC_REVOCATION_PATH = '/credentials/revoke';

export const MAX_CREDENTIALS_PER_REQUEST = 1000;
/** Room for 1,000 secrets of the longest length looked at. */
const BODY_LIMIT = '640kb';
const MAX_CREDENTIAL_LENGTH = 512;

export interface PublicRevocationRouterOptions {
  leaks: LeakedCredentials;
  /** Requests per minute per client address; 0 disables the limit. */
  requestsPerMinute: number;
  limiters: LimiterFactory;
  reportError(error: unknown, req: Request): void;
}

/**
 * Revocation for anyone who holds a leaked secret: holding it is the proof. Every well-formed
 * request is answered 202 before any secret is looked at, so neither the answer nor its timing
 * tells which were live; the live ones are then revoked with the reason `leaked`.
 */
export const publicRevocationRouter = (options: PublicRevocationRouterOptions) => (helpers: RouteHelpers): Router => {
  const router = express.Router();
  const limiter: RateLimiterAbstract | null =
    options.requestsPerMinute > 0 ? options.limiters.create({ name: 'public-revocations-ip', points: options.requestsPerMinute, durationSeconds: 60 }) : null;

  router.post(
    PUBLIC_REVOCATION_PATH,
    helpers.waitForStartup,
    async (req, _res, next) => {
      try {
        // Charged before the body is read, so a spent address costs no parsing.
        const retryAfter = limiter ? await consumePoint(limiter, req.ip ?? UNKNOWN_ADDRESS) : null;
        if (retryAfter !== null) throw rateLimited(retryAfter, `Too many revocation requests from this address; retry in ${retryAfter} s`);
        next();
      } catch (error) {
        next(error);
      }
    },
    requireJsonBody,
    express.json({ limit: BODY_LIMIT }),
    (req, res, next) => {
      try {
        const secrets = credentialsOf(req.body);
        options.leaks.submitForRevocation(secrets, helpers.contextOf(req, res));
        res.status(202).json({ status: 'accepted' });
      } catch (error) {
        next(error);
      }
    },
  );
  router.all(PUBLIC_REVOCATION_PATH, methodNotAllowed('POST', 'method_not_allowed'));
  router.use(PUBLIC_REVOCATION_PATH, leakErrorHandler(BODY_LIMIT, options.reportError));
  return router;
};

function credentialsOf(body: unknown): string[] {
  const credentials = (typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>).credentials : undefined) as unknown;
  if (!Array.isArray(credentials) || credentials.length === 0) {
    throw leakRefusal('BAD_USER_INPUT', 'invalid_request', 'The body must be { "credentials": [ "<secret>", … ] } with at least one secret');
  }
  if (credentials.length > MAX_CREDENTIALS_PER_REQUEST) {
    throw leakRefusal('BAD_USER_INPUT', 'too_many_credentials', `At most ${MAX_CREDENTIALS_PER_REQUEST} credentials per request`);
  }
  credentials.forEach((value, index) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > MAX_CREDENTIAL_LENGTH) {
      throw leakRefusal('BAD_USER_INPUT', 'invalid_request', `credentials[${index}] must be a string of 1 to ${MAX_CREDENTIAL_LENGTH} characters`);
    }
  });
  return credentials as string[];
}
