import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, preHandlerHookHandler } from 'fastify';
import { bearerOf } from './bearer.js';
import { refusalOf, verdictSource, type MiddlewareVerifier, type RequireCredentialOptions } from './refusal.js';
import type { Verdict } from './types.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verdict on the request's bearer credential, set by `requireCredential`. */
    keyledger?: Verdict;
  }
}

export type { RequireCredentialOptions };

/**
 * A Fastify `preHandler` hook (per route, or for every route with `addHook('preHandler', …)`):
 * 401, 403 or 503 as `refusalOf` says, else `request.keyledger`. It is a callback hook, not an
 * async one, so that a request whose verdict is cached goes on without a promise.
 */
export function requireCredential(verifier: MiddlewareVerifier, options: RequireCredentialOptions = {}): preHandlerHookHandler {
  const verdictOf = verdictSource(verifier, options);
  const answer = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, verdict: Verdict | null) => {
    if (verdict !== null && verdict.valid) {
      request.keyledger = verdict;
      done();
      return;
    }
    // A hook that replies does not call done: the reply ends the request.
    const refusal = refusalOf(verdict, options)!;
    reply.code(refusal.status).headers(refusal.headers).send(refusal.body);
  };
  return function keyledgerCredential(request, reply, done) {
    const credential = bearerOf(request.headers.authorization);
    const verdict = credential === null ? null : verdictOf(credential);
    if (verdict instanceof Promise) verdict.then((settled) => answer(request, reply, done, settled), done);
    else answer(request, reply, done, verdict);
  };
}
