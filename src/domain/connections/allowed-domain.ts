import { badInput, forbidden, KeyledgerError } from '../errors';

const MAX_URL_LENGTH = 2048;
/** Printable ASCII without space: anything else is read differently by different URL parsers. */
const URL_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * The rule for using a connection's key with a URL:
 *
 * - the URL is unambiguous: every URL parser reads the same host from it (see
 *   `requireUnambiguousUrl`);
 * - the scheme is `https`: the key never travels in clear;
 * - its host equals the allowed domain exactly (`api.example.com` allows that host only,
 *   not `example.com` nor `x.api.example.com`), or, for a wildcard `*.example.com`, is a
 *   subdomain of `example.com` at any depth (but not `example.com` itself);
 * - any port.
 *
 * Hosts are compared lowercase and without a final dot. Returns the host; throws FORBIDDEN
 * for a host or scheme the connection does not allow, BAD_USER_INPUT for a URL that does
 * not parse or is ambiguous.
 */
export function requireAllowedUrl(allowedDomain: string, value: unknown, field = 'url'): string {
  const url = requireUnambiguousUrl(value, field);
  if (url.protocol !== 'https:') throw forbidden('A connection key is sent over https only');
  const host = url.hostname.endsWith('.') ? url.hostname.slice(0, -1) : url.hostname;
  if (!hostAllowed(allowedDomain, host)) {
    throw forbidden(`The host ${host} is not allowed for this connection (allowed: ${allowedDomain})`);
  }
  return host;
}

/**
 * A URL every parser reads alike. The WHATWG parser, which judges the host here, repairs
 * input that other clients (curl, Python's urlsplit, older HTTP libraries) read another way:
 * `https://api.example.com\@evil.invalid/` is `api.example.com` to it and `evil.invalid` to
 * curl. A client that trusted an approval of such a URL would send the key elsewhere, so
 * the URL must be exactly its own WHATWG serialisation. Refused, with reason
 * `AMBIGUOUS_URL`:
 *
 * - anything but printable ASCII: spaces, tabs, line breaks, control characters, and
 *   non-ASCII (internationalised hosts are given in their `xn--` form);
 * - a backslash;
 * - a user name, a password, or an `@` before the host;
 * - a `%` in the host;
 * - any other difference from the serialisation (a default port, an empty port, missing
 *   slashes, characters the parser would percent-encode, dot segments in the path).
 *
 * Accepted, because no parser reads them differently: uppercase letters in the scheme and
 * host, and an empty path written as nothing (`https://api.example.com` for
 * `https://api.example.com/`).
 */
export function requireUnambiguousUrl(value: unknown, field = 'url'): URL {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_URL_LENGTH) {
    throw badInput(`${field} must be an absolute URL of at most ${MAX_URL_LENGTH} characters`, field);
  }
  if (!URL_CHARACTERS.test(value)) {
    throw ambiguous(`${field} must be printable ASCII without spaces or control characters; give an internationalised host in its xn-- form`, field);
  }
  if (value.includes('\\')) throw ambiguous(`${field} must not contain a backslash`, field);
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(value)?.[1];
  if (authority?.includes('@')) throw ambiguous(`${field} must not contain a user name, a password or an '@' before the host`, field);
  if (authority?.includes('%')) throw ambiguous(`${field} must not percent-encode its host`, field);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badInput(`${field} must be an absolute URL`, field);
  }
  if (url.username || url.password) throw ambiguous(`${field} must not contain a user name, a password or an '@' before the host`, field);
  if (!sameAsSerialised(value, url)) {
    throw ambiguous(
      `${field} must be written as URL parsers serialise it: '//' after the scheme, no default or empty port, no dot segments, and characters such as spaces, quotes and braces percent-encoded`,
      field,
    );
  }
  return url;
}

function sameAsSerialised(value: string, url: URL): boolean {
  const href = url.href;
  const origin = `${url.protocol}//${url.host}`;
  if (value.slice(0, origin.length).toLowerCase() !== origin) return false;
  const rest = value.slice(origin.length);
  const serialisedRest = href.slice(origin.length);
  if (rest === serialisedRest) return true;
  // The empty path serialises as '/': `https://h`, `https://h?q` and `https://h#f` are `https://h/`, `https://h/?q`, `https://h/#f`.
  return url.pathname === '/' && !rest.startsWith('/') && `/${rest}` === serialisedRest;
}

function ambiguous(message: string, field: string): KeyledgerError {
  return new KeyledgerError('BAD_USER_INPUT', message, { field, reason: 'AMBIGUOUS_URL' });
}

export function hostAllowed(allowedDomain: string, host: string): boolean {
  if (allowedDomain.startsWith('*.')) {
    const base = allowedDomain.slice(2);
    return host.length > base.length + 1 && host.endsWith(`.${base}`);
  }
  return host === allowedDomain;
}
