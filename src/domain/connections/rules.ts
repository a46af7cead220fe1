import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { parse as parseDomain } from 'tldts';
import { badInput } from '../errors';

/**
 * Input rules for API-key connections. Each throws BAD_USER_INPUT naming the field and the
 * rule; none ever echoes the API key.
 */
export const CONNECTION_LIMITS = {
  nameMin: 3,
  nameMax: 64,
  integrationMax: 64,
  headerNameMax: 128,
  /** Bytes. An API key travels in a header; servers commonly refuse headers past 8 KiB in total. */
  apiKeyMax: 4096,
  domainMax: 253,
} as const;

/** Zendesk's rule for connection names: 3-64 letters, digits, `_` and `-`. */
const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
/** ZIS integration names are lowercase. */
const INTEGRATION_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
/** RFC 9110 §5.6.2 `token`: the characters a field name may hold. */
const TOKEN_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII, no surrounding spaces: a key that is a valid header value and cannot smuggle a line break. */
const API_KEY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
const LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Headers the key may not be sent in: hop-by-hop headers (RFC 9110 §7.6.1), which proxies
 * strip or act on; headers that frame or route the message; cookies; and headers that
 * proxies or browsers set about the client. A key in any of them would be dropped, would
 * corrupt the request, or would let a connection forge where a request comes from.
 */
const RESERVED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'expect',
  'cookie',
  'set-cookie',
  'forwarded',
  'via',
  'x-real-ip',
]);
const RESERVED_HEADER_PREFIXES = ['proxy-', 'sec-', 'x-forwarded-'];

export function requireConnectionName(value: unknown, field = 'name'): string {
  if (
    typeof value !== 'string' ||
    value.length < CONNECTION_LIMITS.nameMin ||
    value.length > CONNECTION_LIMITS.nameMax ||
    !NAME_PATTERN.test(value)
  ) {
    throw badInput(
      `${field} must be ${CONNECTION_LIMITS.nameMin}-${CONNECTION_LIMITS.nameMax} characters of letters, digits, '_' or '-'`,
      field,
    );
  }
  return value;
}

export function requireIntegration(value: unknown, field = 'integration'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > CONNECTION_LIMITS.integrationMax || !INTEGRATION_PATTERN.test(value)) {
    throw badInput(
      `${field} must be 1-${CONNECTION_LIMITS.integrationMax} characters of lowercase letters, digits, '_' or '-', starting with a letter or digit`,
      field,
    );
  }
  return value;
}

export function requireHeaderName(value: unknown, field = 'headerName'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > CONNECTION_LIMITS.headerNameMax || !TOKEN_PATTERN.test(value)) {
    throw badInput(
      `${field} must be an HTTP header name: 1-${CONNECTION_LIMITS.headerNameMax} characters of letters, digits and !#$%&'*+-.^_\`|~`,
      field,
    );
  }
  const lower = value.toLowerCase();
  if (RESERVED_HEADERS.has(lower) || RESERVED_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
    throw badInput(`${field} ${value} is reserved: hop-by-hop, framing, routing, cookie and forwarding headers cannot carry an API key`, field);
  }
  return value;
}

export function requireApiKey(value: unknown, field = 'apiKey'): string {
  if (typeof value !== 'string' || value.length === 0) throw badInput(`${field} must not be empty`, field);
  if (Buffer.byteLength(value, 'utf8') > CONNECTION_LIMITS.apiKeyMax) {
    throw badInput(`${field} must be at most ${CONNECTION_LIMITS.apiKeyMax} bytes`, field);
  }
  if (!API_KEY_PATTERN.test(value)) {
    throw badInput(`${field} must be printable ASCII without line breaks or surrounding spaces, as an HTTP header value`, field);
  }
  return value;
}

/**
 * An allowed domain: a host name (`api.example.com`), or `*.` and a domain for its
 * subdomains (`*.example.com`). Returned lowercase, internationalised names in their ASCII
 * (punycode) form, so that comparing it with a URL's host is a plain string comparison.
 *
 * Refused: a scheme, path, port, credentials or trailing dot; control characters, `%`, and
 * characters that name normalisation would change or drop (a soft hyphen, fullwidth
 * letters), so the name stored is the name given; IP addresses (a key is bound to
 * a name, which a certificate vouches for); single-label names (`localhost`); public
 * suffixes (`com`, `co.uk`, `github.io`), as a host or under a wildcard, which would send the
 * key to every site registered there.
 */
export function requireAllowedDomain(value: unknown, field = 'allowedDomain'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > CONNECTION_LIMITS.domainMax) {
    throw badInput(`${field} must be a host name of 1-${CONNECTION_LIMITS.domainMax} characters, such as api.example.com`, field);
  }
  if (value.includes('://')) throw badInput(`${field} must be a host name without a scheme, such as api.example.com`, field);
  if (/[/?#\\]/.test(value)) throw badInput(`${field} must be a host name without a path, query or fragment`, field);
  if (value.includes('@')) throw badInput(`${field} must not contain credentials`, field);
  const wildcard = value.startsWith('*.');
  const base = wildcard ? value.slice(2) : value;
  if (base.includes('*')) throw badInput(`${field} may hold a wildcard only as a leading '*.', as in *.example.com`, field);
  if (isIP(base) !== 0 || base.startsWith('[')) throw badInput(`${field} must be a host name, not an IP address`, field);
  if (base.includes(':')) throw badInput(`${field} must not contain a port: any port of the host is allowed`, field);
  if (base.endsWith('.')) throw badInput(`${field} must not end with a dot`, field);
  if (/\s/.test(base)) throw badInput(`${field} must not contain spaces`, field);
  if (/[\x00-\x1f\x7f-\x9f]/.test(base)) throw badInput(`${field} must not contain control characters`, field);
  if (base.includes('%')) throw badInput(`${field} must not be percent-encoded`, field);
  const ascii = domainToASCII(base);
  const labels = ascii.split('.');
  if (ascii.length === 0 || ascii.length > CONNECTION_LIMITS.domainMax || !labels.every((label) => LABEL_PATTERN.test(label))) {
    throw badInput(`${field} is not a valid host name: labels of letters, digits and '-', separated by dots`, field);
  }
  // WHATWG reads all-numeric names (`1.2.3`, `0x7f.1`) as IPv4 addresses.
  if (isIP(ascii) !== 0 || /^(0x[0-9a-f]*|\d+)$/.test(labels[labels.length - 1])) {
    throw badInput(`${field} must be a host name, not an IP address`, field);
  }
  // IDNA maps some characters away or to others (a soft hyphen vanishes, fullwidth letters fold): the name stored must be the name given.
  if (!sameName(base, ascii)) {
    throw badInput(`${field} holds characters that host-name normalisation changes or removes; give the name as it is registered`, field);
  }
  const suffixOnly = parseDomain(ascii, { allowPrivateDomains: true }).domain === null;
  if (wildcard && suffixOnly) {
    throw badInput(`${field} ${value} would match every site under a public suffix; name a registered domain, as in *.example.com`, field);
  }
  if (labels.length < 2) throw badInput(`${field} must be a fully qualified name such as api.example.com, not a single label`, field);
  if (suffixOnly) throw badInput(`${field} ${value} is a public suffix, not a host`, field);
  return wildcard ? `*.${ascii}` : ascii;
}

/** Each label of the given name reads, case aside, as its ASCII form or as that form's Unicode reading. */
function sameName(given: string, ascii: string): boolean {
  const givenLabels = given.toLowerCase().split('.');
  const asciiLabels = ascii.split('.');
  return givenLabels.length === asciiLabels.length && asciiLabels.every((label, i) => givenLabels[i] === label || givenLabels[i] === domainToUnicode(label));
}
