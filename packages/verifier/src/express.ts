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

/** Tags the accessor's getter with its WeakMap, so that each copy of this module finds the one in place. */
const VERDICTS = Symbol.for('@keyledger/verifier/express#verdicts');

type VerdictStore = WeakMap<object, Verdict | undefined>;
type TaggedGetter = (() => Verdict | undefined) & { [VERDICTS]?: VerdictStore };

/**
 * Makes `req.keyledger` an accessor of express's request prototype (`express.request`, which
 * every app's `app.request` inherits from), backed by a WeakMap, instead of a property each
 * request gets of its own. Express gives every request it handles its app's prototype
 * (`Object.setPrototypeOf`), and V8 then stops sharing hidden classes between those requests:
 * each property added to one afterwards builds a hidden class for that request alone (a copy
 * of its 30-odd property descriptors, in the old generation), and no inline cache ever sees
 * the same request shape twice. An own `keyledger` property cost one more such hidden class
 * per request, some 3 µs and old-generation garbage. With the accessor, reading and assigning
 * `req.keyledger` work as before, in sub-apps too, and the request keeps its shape.
 *
 * Found from the first request of each app; every copy of this module loaded in the process
 * (the CommonJS and the ES module build) shares the WeakMap of the accessor in place. Null,
 * so that the middleware assigns the property as any code would, for a request that is not
 * an express one (its prototype is Node's own) or when `keyledger` is already something
 * else's. Node's `http.IncomingMessage.prototype` is never changed.
 */
function verdictStoreOf(req: object, known: WeakMap<object, VerdictStore | null>): VerdictStore | null {
  const appPrototype = Object.getPrototypeOf(req) as object | null;
  if (appPrototype === null || appPrototype === IncomingMessage.prototype) return null;
  const found = known.get(appPrototype);
  if (found !== undefined) return found;
  // The prototype express's own request methods live on: the one whose prototype is Node's.
  let prototype: object | null = appPrototype;
  while (prototype !== null && Object.getPrototypeOf(prototype) !== IncomingMessage.prototype) prototype = Object.getPrototypeOf(prototype) as object | null;
  if (prototype === null) {
    known.set(appPrototype, null);
    return null;
  }
  let verdicts: VerdictStore | null;
  const existing = Object.getOwnPropertyDescriptor(prototype, 'keyledger');
  if (existing !== undefined) {
    verdicts = (existing.get as TaggedGetter | undefined)?.[VERDICTS] ?? null;
  } else {
    const store: VerdictStore = new WeakMap();
    const get: TaggedGetter = function keyledger(this: object) {
      return store.get(this);
    };
    get[VERDICTS] = store;
    Object.defineProperty(prototype, 'keyledger', {
      configurable: true,
      enumerable: false,
      get,
      set(this: object, verdict: Verdict | undefined) {
        store.set(this, verdict);
      },
    });
    verdicts = store;
  }
  known.set(appPrototype, verdicts);
  return verdicts;
}

/**
 * Express 4 and 5 middleware: 401, 403 or 503 as `refusalOf` says, else `req.keyledger` and
 * `next()`. With the credential's verdict cached, `next()` is called before it returns.
 */
export function requireCredential(verifier: MiddlewareVerifier, options: RequireCredentialOptions = {}): RequestHandler {
  const stores = new WeakMap<object, VerdictStore | null>();
  const verdictOf = verdictSource(verifier, options);
  const answer = (req: Request, res: Response, next: NextFunction, verdict: Verdict | null) => {
    if (verdict !== null && verdict.valid) {
      // Straight into the WeakMap: `req.keyledger = verdict` would reach the same setter, but
      // through a property lookup along the prototype chain that no cache can keep for an
      // express request (see verdictStoreOf).
      const verdicts = verdictStoreOf(req, stores);
      if (verdicts !== null) verdicts.set(req, verdict);
      else req.keyledger = verdict;
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
