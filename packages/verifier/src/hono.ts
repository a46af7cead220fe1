import type { MiddlewareHandler } from 'hono';
import { bearerOf } from './bearer.js';
import { refusalOf, verdictFor, type RequireCredentialOptions } from './refusal.js';
import type { Verdict } from './types.js';
import type { Verifier } from './verifier.js';

export type { RequireCredentialOptions };

/** The context variables the middleware sets: `c.get('keyledger')`. */
export interface KeyledgerVariables {
  keyledger: Verdict;
}

/** Hono middleware: 401, 403 or 503 as `refusalOf` says, else `c.set('keyledger', verdict)`. */
export function requireCredential(
  verifier: Pick<Verifier, 'verify'>,
  options: RequireCredentialOptions = {},
): MiddlewareHandler<{ Variables: KeyledgerVariables }> {
  return async (c, next) => {
    const verdict = await verdictFor(verifier, bearerOf(c.req.header('authorization')), options);
    const refusal = refusalOf(verdict, options);
    if (refusal) return c.json(refusal.body, refusal.status, refusal.headers);
    c.set('keyledger', verdict!);
    await next();
  };
}
