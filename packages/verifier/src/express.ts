import { IncomingMessage } from 'node:http';
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
 * Makes `req.keyledger` an accessor of `http.IncomingMessage.prototype`, backed by a WeakMap,
 * instead of a property each request gets of its own. Express changes the prototype of every
 * request it handles, and V8 then stops sharing hidden classes between those requests: each
 * property added to one afterwards builds a hidden class for that request alone (a copy of its
 * 30-odd property descriptors, in the old generation). An own `keyledger` property cost one
 * more such copy per request: some 3 µs, and old-generation garbage. Through the accessor,
 * reading and assigning `req.keyledger` work as before and the request keeps its shape.
 *
 * Installed once per process, by the first middleware created; every copy of this module
 * loaded in the process (the CommonJS and the ES module build) assigns through the one
 * installed first. A `keyledger` property defined there by anything else is left as it is,
 * and the verdict is assigned through it; a request that is no IncomingMessage gets it as an
 * own property, as before.
 */
function installVerdictAccessor(): void {
  const prototype = IncomingMessage.prototype;
  if (Object.getOwnPropertyDescriptor(prototype, 'keyledger') !== undefined) return;
  const verdicts = new WeakMap<object, Verdict | undefined>();
  Object.defineProperty(prototype, 'keyledger', {
    configurable: true,
    enumerable: false,
    get(this: object) {
      return verdicts.get(this);
    },
    set(this: object, verdict: Verdict | undefined) {
      verdicts.set(this, verdict);
    },
  });
}

/**
 * Express 4 and 5 middleware: 401, 403 or 503 as `refusalOf` says, else `req.keyledger` and
 * `next()`. With the credential's verdict cached, `next()` is called before it returns.
 */
export function requireCredential(verifier: MiddlewareVerifier, options: RequireCredentialOptions = {}): RequestHandler {
  installVerdictAccessor();
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
