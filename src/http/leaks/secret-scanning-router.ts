import express, { type Request, type RequestHandler, type Router } from 'express';
import type { LeakedCredentials, ScanMatch } from '../../app/leaks/leaked-credentials';
import type { ScannerPublicKeys } from '../../app/leaks/scanner-public-keys';
import type { RouteHelpers } from '../app';
import { methodNotAllowed } from '../rest-errors';
import { leakErrorHandler, leakRefusal } from './leak-errors';

export const SECRET_SCANNING_GITHUB_PATH = '/secret-scanning/github';

/** GitHub sends matches in batches; a report beyond this many is not one of its. */
export const MAX_MATCHES_PER_REPORT = 1000;
const BODY_LIMIT = '1mb';
/** Fields of a match are bounded, so a report cannot carry anything unbounded into the answer. */
const MAX_TOKEN_LENGTH = 4096;
const MAX_TYPE_LENGTH = 128;
const MAX_URL_LENGTH = 4096;

export interface SecretScanningRouterOptions {
  leaks: LeakedCredentials;
  /** Null when KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS is not set: the route then answers 404 `not_configured`. */
  keys: ScannerPublicKeys | null;
  reportError(error: unknown, req: Request): void;
}

/**
 * GitHub's secret scanning partner endpoint: a signed report of keyledger tokens found in
 * public places. The signature is checked over the raw bytes before anything is parsed.
 */
export const secretScanningRouter = (options: SecretScanningRouterOptions) => (helpers: RouteHelpers): Router => {
  const router = express.Router();
  const verifySignature: RequestHandler = async (req, res, next) => {
    try {
      if (!options.keys) throw leakRefusal('NOT_FOUND', 'not_configured', 'Secret scanning is not configured on this deployment');
      const keyId = req.get('github-public-key-identifier');
      const signature = req.get('github-public-key-signature');
      if (!keyId || !signature) {
        throw leakRefusal('UNAUTHENTICATED', 'signature_required', 'Send the GITHUB-PUBLIC-KEY-IDENTIFIER and GITHUB-PUBLIC-KEY-SIGNATURE headers');
      }
      const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const check = await options.keys.check(keyId.trim(), signature.trim(), body);
      if (check === 'keys-unavailable') throw leakRefusal('UNAVAILABLE', 'keys_unavailable', 'The public keys to check the signature with are not available; retry later');
      if (check === 'unknown-key') throw leakRefusal('UNAUTHENTICATED', 'unknown_key', 'GITHUB-PUBLIC-KEY-IDENTIFIER names no published key');
      if (check !== 'valid') throw leakRefusal('UNAUTHENTICATED', 'invalid_signature', 'The signature does not match the body');
      res.locals.signedBody = body;
      next();
    } catch (error) {
      next(error);
    }
  };

  router.post(
    SECRET_SCANNING_GITHUB_PATH,
    helpers.waitForStartup,
    express.raw({ type: () => true, limit: BODY_LIMIT }),
    verifySignature,
    async (req, res, next) => {
      try {
        const body = res.locals.signedBody as Buffer;
        const matches = matchesOf(body);
        const ctx = helpers.contextOf(req, res);
        const answers = await options.leaks.report('github', body, matches, ctx);
        res.status(200).json(answers);
      } catch (error) {
        next(error);
      }
    },
  );
  router.all(SECRET_SCANNING_GITHUB_PATH, methodNotAllowed('POST', 'method_not_allowed'));
  router.use(SECRET_SCANNING_GITHUB_PATH, leakErrorHandler(BODY_LIMIT, options.reportError));
  return router;
};

/** The matches of a signed body, checked for shape; a refusal names the index, never a value. */
function matchesOf(body: Buffer): ScanMatch[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw leakRefusal('BAD_USER_INPUT', 'invalid_json', 'The request body is not valid JSON');
  }
  if (!Array.isArray(parsed)) throw leakRefusal('BAD_USER_INPUT', 'invalid_request', 'The body must be a JSON array of matches');
  if (parsed.length > MAX_MATCHES_PER_REPORT) {
    throw leakRefusal('BAD_USER_INPUT', 'too_many_matches', `A report may hold at most ${MAX_MATCHES_PER_REPORT} matches`);
  }
  return parsed.map((item: unknown, index): ScanMatch => {
    const match = (typeof item === 'object' && item !== null && !Array.isArray(item) ? item : null) as Record<string, unknown> | null;
    const text = (field: string, max: number, required: boolean): string | null => {
      const value = match?.[field];
      if (value === undefined || value === null) {
        if (required) throw leakRefusal('BAD_USER_INPUT', 'invalid_request', `Match ${index}: ${field} is required`);
        return null;
      }
      if (typeof value !== 'string' || value.length > max) {
        throw leakRefusal('BAD_USER_INPUT', 'invalid_request', `Match ${index}: ${field} must be a string of at most ${max} characters`);
      }
      return value;
    };
    if (!match) throw leakRefusal('BAD_USER_INPUT', 'invalid_request', `Match ${index} must be an object`);
    return {
      token: text('token', MAX_TOKEN_LENGTH, true)!,
      type: text('type', MAX_TYPE_LENGTH, true)!,
      url: text('url', MAX_URL_LENGTH, false),
      source: text('source', MAX_TYPE_LENGTH, false),
    };
  });
}
