import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bearerOf } from './bearer.js';
import { refusalOf, verdictSource, type MiddlewareVerifier, type RequireCredentialOptions } from './refusal.js';
import type { Verdict } from './types.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verdict on the request's bearer credential, set by `requireCredential`. */
      keyledger?: Verdict;
    }
  }
}

export type { RequireCredentialOptions };

/**
 * Express 4 and 5 middleware: 401, 403 or 503 as `refusalOf` says, else `req.keyledger` and
 * `next()`. With the credential's verdict cached, `next()` is called before it returns.
 */
export function requireCredential(verifier: MiddlewareVerifier, options: RequireCredentialOptions = {}): RequestHandler {
  const verdictOf = verdictSource(verifier, options);
  const answer = (req: Request, res: Response, next: NextFunction, verdict: Verdict | null) => {
    if (verdict !== null && verdict.valid) {
      req.keyledger = verdict;
      next();
      return;
    }
    const refusal = refusalOf(verdict, options)!;
    res.status(refusal.status).set(refusal.headers).json(refusal.body);
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const credential = bearerOf(req.headers.authorization);
    const verdict = credential === null ? null : verdictOf(credential);
    if (verdict instanceof Promise) verdict.then((settled) => answer(req, res, next, settled), next);
    else answer(req, res, next, verdict);
  };
}
