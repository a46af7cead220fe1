import type { Verdict } from './types.js';
import type { Verifier } from './verifier.js';

export interface RequireCredentialOptions {
  /** Roles the credential must hold on this route; missing ones answer 403. */
  requiredRoles?: readonly string[];
  /** The `realm` of `WWW-Authenticate`. Default `keyledger`. */
  realm?: string;
}

/** How a framework adapter answers a request the verdict does not let through. */
export interface Refusal {
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  body: { error: string; code: string };
}

/**
 * RFC 6750 answers: 401 with a `Bearer` challenge for a missing or refused credential, 403
 * `insufficient_scope` for missing roles, and 503 when keyledger could not be asked (the
 * credential may well be good: the client should retry, not discard it).
 */
export function refusalOf(verdict: Verdict | null, options: RequireCredentialOptions): Refusal | null {
  const realm = `realm="${(options.realm ?? 'keyledger').replace(/["\\]/g, '')}"`;
  if (verdict === null) {
    return { status: 401, headers: { 'www-authenticate': `Bearer ${realm}` }, body: { error: 'invalid_request', code: 'MISSING' } };
  }
  if (verdict.valid) return null;
  if (verdict.code === 'INSUFFICIENT_ROLES') {
    const scope = (options.requiredRoles ?? []).join(' ').replace(/["\\]/g, '');
    return {
      status: 403,
      headers: { 'www-authenticate': `Bearer ${realm}, error="insufficient_scope", scope="${scope}"` },
      body: { error: 'insufficient_scope', code: verdict.code },
    };
  }
  if (verdict.code === 'UNAVAILABLE') {
    return { status: 503, headers: { 'retry-after': '1' }, body: { error: 'temporarily_unavailable', code: verdict.code } };
  }
  return {
    status: 401,
    headers: { 'www-authenticate': `Bearer ${realm}, error="invalid_token"` },
    body: { error: 'invalid_token', code: verdict.code },
  };
}

/** The verifier a middleware is given: `verify`, and `verifyNow` where it has one. */
export type MiddlewareVerifier = Pick<Verifier, 'verify'> & Partial<Pick<Verifier, 'verifyNow'>>;

/**
 * What a middleware calls per request with the presented credential: the verdict as it is when
 * the verifier's cache holds it, else a promise. The route's roles are copied once here, so the
 * request path allocates nothing for them.
 */
export function verdictSource(verifier: MiddlewareVerifier, options: RequireCredentialOptions): (credential: string) => Verdict | Promise<Verdict> {
  const requiredRoles = [...new Set(options.requiredRoles ?? [])];
  const verifyOptions = Object.freeze({ requiredRoles: Object.freeze(requiredRoles) });
  if (typeof verifier.verifyNow === 'function') return (credential) => verifier.verifyNow!(credential, verifyOptions);
  // Any thenable becomes a native promise, which is what the middleware tell a pending verdict by.
  return (credential) => Promise.resolve(verifier.verify(credential, verifyOptions));
}
