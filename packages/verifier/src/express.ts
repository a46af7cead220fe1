import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { bearerOf } from './bearer.js';
import { refusalOf, verdictFor, type RequireCredentialOptions } from './refusal.js';
import type { Verdict } from './types.js';
import type { Verifier } from './verifier.js';

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

/** Express 4 and 5 middleware: 401, 403 or 503 as `refusalOf` says, else `req.keyledger` and `next()`. */
export function requireCredential(verifier: Pick<Verifier, 'verify'>, options: RequireCredentialOptions = {}): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    verdictFor(verifier, bearerOf(req.headers.authorization), options).then((verdict) => {
      const refusal = refusalOf(verdict, options);
      if (refusal) {
        res.status(refusal.status).set(refusal.headers).json(refusal.body);
        return;
      }
      req.keyledger = verdict!;
      next();
    }, next);
  };
}
