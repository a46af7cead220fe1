import type { Context, MiddlewareHandler, Next } from 'hono';
import { bearerOf } from './bearer.js';
import { refusalOf, verdictSource, type MiddlewareVerifier, type RequireCredentialOptions } from './refusal.js';
import type { Verdict } from './types.js';

export type { RequireCredentialOptions };

/** The context variables the middleware sets: `c.get('keyledger')`. */
export interface KeyledgerVariables {
  keyledger: Verdict;
}

type KeyledgerEnv = { Variables: KeyledgerVariables };

/**
 * Hono middleware: 401, 403 or 503 as `refusalOf` says, else `c.set('keyledger', verdict)`.
 * With the credential's verdict cached, it hands over to `next()` without awaiting anything.
 */
export function requireCredential(verifier: MiddlewareVerifier, options: RequireCredentialOptions = {}): MiddlewareHandler<KeyledgerEnv> {
  const verdictOf = verdictSource(verifier, options);
  const answer = (c: Context<KeyledgerEnv>, next: Next, verdict: Verdict | null): Promise<Response | void> => {
    if (verdict !== null && verdict.valid) {
      c.set('keyledger', verdict);
      return next();
    }
    const refusal = refusalOf(verdict, options)!;
    return Promise.resolve(c.json(refusal.body, refusal.status, refusal.headers));
  };
  return (c, next) => {
    const credential = bearerOf(c.req.header('authorization'));
    const verdict = credential === null ? null : verdictOf(credential);
    if (verdict instanceof Promise) return verdict.then((settled) => answer(c, next, settled));
    return answer(c, next, verdict);
  };
}
