import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { bearerOf } from './bearer.js';
import { refusalOf, verdictFor, type RequireCredentialOptions } from './refusal.js';
import type { Verdict } from './types.js';
import type { Verifier } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verdict on the request's bearer credential, set by `requireCredential`. */
    keyledger?: Verdict;
  }
}

export type { RequireCredentialOptions };

/**
 * A Fastify `preHandler` hook (per route, or for every route with `addHook('preHandler', …)`):
 * 401, 403 or 503 as `refusalOf` says, else `request.keyledger`.
 */
export function requireCredential(verifier: Pick<Verifier, 'verify'>, options: RequireCredentialOptions = {}): preHandlerAsyncHookHandler {
  return async function keyledgerCredential(request: FastifyRequest, reply: FastifyReply) {
    const verdict = await verdictFor(verifier, bearerOf(request.headers.authorization), options);
    const refusal = refusalOf(verdict, options);
    if (refusal) {
      await reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
      return;
    }
    request.keyledger = verdict!;
  };
}
