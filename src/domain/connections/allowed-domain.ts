import { badInput, forbidden } from '../errors';

const MAX_URL_LENGTH = 2048;

/**
 * The rule for using a connection's key with a URL:
 *
 * - the scheme is `https`: the key never travels in clear;
 * - the URL holds no user name or password;
 * - its host equals the allowed domain exactly (`api.example.com` allows that host only,
 *   not `example.com` nor `x.api.example.com`), or, for a wildcard `*.example.com`, is a
 *   subdomain of `example.com` at any depth (but not `example.com` itself);
 * - any port.
 *
 * Hosts are compared as the URL parser normalises them: lowercase, punycode, and without a
 * final dot. Returns the host; throws FORBIDDEN (or BAD_USER_INPUT for a URL that does not
 * parse).
 */
export function requireAllowedUrl(allowedDomain: string, value: unknown, field = 'url'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) {
    throw badInput(`${field} must be an absolute URL of at most ${MAX_URL_LENGTH} characters`, field);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badInput(`${field} must be an absolute URL`, field);
  }
  if (url.protocol !== 'https:') throw forbidden('A connection key is sent over https only');
  if (url.username || url.password) throw forbidden('The URL must not contain a user name or password');
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  if (!hostAllowed(allowedDomain, host)) {
    throw forbidden(`The host ${host} is not allowed for this connection (allowed: ${allowedDomain})`);
  }
  return host;
}

export function hostAllowed(allowedDomain: string, host: string): boolean {
  if (allowedDomain.startsWith('*.')) {
    const base = allowedDomain.slice(2);
    return host.length > base.length + 1 && host.endsWith(`.${base}`);
  }
  return host === allowedDomain;
}
