import type { Request } from 'express';
import { invalidClient, invalidRequest } from './oauth-errors';

/** How a request authenticated its caller at an OAuth endpoint. */
export type PresentedClient =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; clientSecret: string }
  | { method: 'bearer'; token: string }
  | { method: 'none' };

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const BEARER = /^Bearer +(\S+) *$/i;

/**
 * Reads client authentication from the Authorization header or from the form
 * (RFC 6749 §2.3.1). Using more than one method is refused, as the RFC requires.
 */
export function presentedClient(req: Request, form: FormParameters, options: { bearer: boolean }): PresentedClient {
  const header = req.get('authorization');
  const formId = form.get('client_id');
  const formSecret = form.get('client_secret');
  const inForm = formId !== null || formSecret !== null;
  if (header !== undefined) {
    if (inForm) throw invalidRequest('Use one client authentication method: HTTP Basic or client_id and client_secret, not both');
    const basic = BASIC.exec(header);
    if (basic) return basicCredentials(basic[1]);
    const bearer = options.bearer ? BEARER.exec(header) : null;
    if (bearer) return { method: 'bearer', token: bearer[1] };
    throw invalidClient(options.bearer ? 'The Authorization header must be Basic or Bearer' : 'The Authorization header must be Basic');
  }
  if (!inForm) return { method: 'none' };
  if (formId === null || formSecret === null) throw invalidClient('Send both client_id and client_secret');
  return { method: 'client_secret_post', clientId: formId, clientSecret: formSecret };
}

/** `Basic base64(urlencode(id) ":" urlencode(secret))`; the id and secret are form-encoded per RFC 6749 §2.3.1. */
function basicCredentials(encoded: string): PresentedClient {
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('The Basic credentials must be client_id:client_secret');
  try {
    const clientId = formDecode(decoded.slice(0, colon));
    const clientSecret = formDecode(decoded.slice(colon + 1));
    return { method: 'client_secret_basic', clientId, clientSecret };
  } catch {
    throw invalidClient('The Basic credentials are not correctly encoded');
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** Form parameters where each may appear once (RFC 6749 §3.2). */
export class FormParameters {
  private constructor(private readonly values: Record<string, unknown>) {}

  /** Refuses a body that is not a form; no body at all is an empty form. */
  static of(req: Request): FormParameters {
    const length = req.get('content-length');
    const hasBody = (length !== undefined && length !== '0') || req.get('transfer-encoding') !== undefined;
    if (hasBody && !req.is('application/x-www-form-urlencoded')) {
      throw invalidRequest('The request body must be application/x-www-form-urlencoded');
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(body)) {
      if (typeof value !== 'string') throw invalidRequest(`The parameter ${safeName(name)} must appear once`);
    }
    return new FormParameters(body);
  }

  /** The value, or null when absent or empty (RFC 6749 §3.1: empty parameters are treated as omitted). */
  get(name: string): string | null {
    const value = this.values[name];
    return typeof value === 'string' && value !== '' ? value : null;
  }
}

function safeName(name: string): string {
  return /^[a-z_]{1,40}$/.test(name) ? name : '(a parameter)';
}
