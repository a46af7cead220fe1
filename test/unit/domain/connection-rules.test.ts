import { KeyledgerError } from '../../../src/domain/errors';
import {
  hostAllowed,
  requireAllowedDomain,
  requireAllowedUrl,
  requireApiKey,
  requireConnectionName,
  requireHeaderName,
  requireIntegration,
} from '../../../src/domain/connections';

function refusal(run: () => unknown): KeyledgerError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(KeyledgerError);
    return error as KeyledgerError;
  }
  throw new Error('expected a refusal');
}

describe('connection names', () => {
  it.each(['abc', 'my_api_key_connection', 'A-1_b', 'x'.repeat(64)])('accepts %s', (name) => {
    expect(requireConnectionName(name)).toBe(name);
  });
  it.each(['', 'ab', 'x'.repeat(65), 'has space', 'dot.ted', 'slash/name', 'ünï', 42, null])('refuses %p', (name) => {
    const error = refusal(() => requireConnectionName(name));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'name' } });
    expect(error.message).toBe("name must be 3-64 characters of letters, digits, '_' or '-'");
  });
});

describe('integration names', () => {
  it.each(['crm', 'my-integration_2', '0'])('accepts %s', (value) => expect(requireIntegration(value)).toBe(value));
  it.each(['', 'CRM', '-leading', 'a/b', 'x'.repeat(65), 'with space'])('refuses %p', (value) => {
    expect(refusal(() => requireIntegration(value))).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'integration' } });
  });
});

describe('header names', () => {
  it.each(['x-api-key', 'Authorization', 'X-Auth-Token', "api_key!#$%&'*+.^`|~"])('accepts %s', (value) => expect(requireHeaderName(value)).toBe(value));
  it.each(['', 'x api key', 'x-api-key:', 'x\r\ny', 'ключ', '(x)', 'x'.repeat(129)])('refuses %p as not a token', (value) => {
    const error = refusal(() => requireHeaderName(value));
    expect(error.details.field).toBe('headerName');
    expect(error.message).toMatch(/must be an HTTP header name/);
  });
  it.each([
    'Connection',
    'keep-alive',
    'TE',
    'Trailer',
    'Transfer-Encoding',
    'Upgrade',
    'Host',
    'Content-Length',
    'Content-Type',
    'Cookie',
    'Set-Cookie',
    'Proxy-Authorization',
    'proxy-connection',
    'Forwarded',
    'X-Forwarded-For',
    'Sec-Fetch-Site',
    'Via',
  ])('refuses the reserved header %s', (value) => {
    expect(refusal(() => requireHeaderName(value)).message).toMatch(/is reserved/);
  });
});

describe('API keys', () => {
  it('accepts printable ASCII up to 4096 bytes, inner spaces included', () => {
    expect(requireApiKey('k')).toBe('k');
    expect(requireApiKey('Token abc.def')).toBe('Token abc.def');
    expect(requireApiKey('k'.repeat(4096))).toHaveLength(4096);
  });
  it.each([
    ['empty', '', /must not be empty/],
    ['too long', 'k'.repeat(4097), /at most 4096 bytes/],
    ['multi-byte past the limit', 'é'.repeat(2049), /at most 4096 bytes/],
    ['a line break', 'abc\ndef', /printable ASCII/],
    ['a NUL', 'abc\u0000def', /printable ASCII/],
    ['a leading space', ' abc', /printable ASCII/],
    ['a trailing tab', 'abc\t', /printable ASCII/],
    ['non-ASCII', 'clé-secrète', /printable ASCII/],
  ])('refuses %s without echoing it', (_label, value, message) => {
    const error = refusal(() => requireApiKey(value));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'apiKey' } });
    expect(error.message).toMatch(message);
    if (value.length > 3) expect(error.message).not.toContain(value);
  });
  it('refuses a non-string', () => expect(refusal(() => requireApiKey(123)).message).toMatch(/must not be empty/));
});

describe('allowed domains', () => {
  it.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM', 'api.example.com'],
    ['*.example.com', '*.example.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['*.Bücher.example', '*.xn--bcher-kva.example'],
    ['foo.github.io', 'foo.github.io'],
    ['api.internal', 'api.internal'],
    ['a-b.c-d.example.co.uk', 'a-b.c-d.example.co.uk'],
  ])('accepts %s as %s', (value, normalised) => {
    expect(requireAllowedDomain(value)).toBe(normalised);
  });

  it.each([
    ['a scheme', 'https://api.example.com', /without a scheme/],
    ['a path', 'api.example.com/v1', /without a path/],
    ['a query', 'api.example.com?x=1', /without a path/],
    ['a port', 'api.example.com:8443', /must not contain a port/],
    ['credentials', 'user@api.example.com', /credentials/],
    ['an IPv4 address', '192.0.2.1', /not an IP address/],
    ['an IPv6 address', '::1', /not an IP address/],
    ['a bracketed IPv6 address', '[::1]', /not an IP address/],
    ['a numeric name WHATWG reads as IPv4', '1.2.3', /not an IP address/],
    ['a hex IPv4 form', '0x7f.1', /not an IP address/],
    ['a single label', 'localhost', /fully qualified/],
    ['a trailing dot', 'api.example.com.', /must not end with a dot/],
    ['a public suffix', 'com', /fully qualified|public suffix/],
    ['a multi-label public suffix', 'co.uk', /public suffix/],
    ['a private public suffix', 'github.io', /public suffix/],
    ['a wildcard over a TLD', '*.com', /public suffix/],
    ['a wildcard over a multi-label suffix', '*.co.uk', /public suffix/],
    ['a wildcard over a private suffix', '*.github.io', /public suffix/],
    ['a bare wildcard', '*', /only as a leading/],
    ['an inner wildcard', 'api.*.example.com', /only as a leading/],
    ['a double wildcard', '*.*.example.com', /only as a leading/],
    ['a percent-encoded dot', 'api%2eexample.com', /percent-encoded/],
    ['a control character', 'api\u0000.example.com', /control characters/],
    ['a soft hyphen normalisation drops', 'exam\u00adple.com', /normalisation changes or removes/],
    ['fullwidth letters normalisation folds', '\uff41pi.example.com', /normalisation changes or removes/],
    ['an underscore', 'api_1.example.com', /not a valid host name/],
    ['an empty label', 'api..example.com', /not a valid host name/],
    ['a label starting with a dash', '-api.example.com', /not a valid host name/],
    ['a space', 'api example.com', /spaces/],
    ['an empty string', '', /host name of 1-253/],
    ['a name past 253 characters', `${'a'.repeat(60)}.`.repeat(5) + 'com', /host name of 1-253|not a valid host name/],
  ])('refuses %s', (_label, value, message) => {
    const error = refusal(() => requireAllowedDomain(value));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'allowedDomain' } });
    expect(error.message).toMatch(message);
  });
});

describe('the allowed-URL rule', () => {
  it.each([
    ['api.example.com', 'https://api.example.com/v1?x=1', 'api.example.com'],
    ['api.example.com', 'https://api.example.com:8443/', 'api.example.com'],
    ['api.example.com', 'https://API.example.com./', 'api.example.com'],
    ['*.example.com', 'https://eu.example.com/', 'eu.example.com'],
    ['*.example.com', 'https://a.b.example.com/', 'a.b.example.com'],
    ['xn--bcher-kva.example', 'https://xn--bcher-kva.example/', 'xn--bcher-kva.example'],
    ['api.example.com', 'https://api.example.com', 'api.example.com'],
    ['api.example.com', 'https://api.example.com?q=1#f', 'api.example.com'],
  ])('%s allows %s', (domain, url, host) => {
    expect(requireAllowedUrl(domain, url)).toBe(host);
  });

  it.each([
    ['api.example.com', 'http://api.example.com/', /https only/],
    ['api.example.com', 'wss://api.example.com/', /https only/],
    ['api.example.com', 'https://example.com/', /not allowed/],
    ['api.example.com', 'https://x.api.example.com/', /not allowed/],
    ['api.example.com', 'https://api.example.com.evil.net/', /not allowed/],
    ['*.example.com', 'https://example.com/', /not allowed/],
    ['*.example.com', 'https://badexample.com/', /not allowed/],
    ['*.example.com', 'https://[::1]/', /not allowed/],
  ])('%s refuses %s with FORBIDDEN', (domain, url, message) => {
    const error = refusal(() => requireAllowedUrl(domain, url));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['empty', ''],
    ['not a URL', 'not a url'],
    ['relative', '/relative/path'],
    ['too long', 'https://' + 'a'.repeat(2050)],
  ])('refuses a URL that is %s as bad input', (_label, url) => {
    expect(refusal(() => requireAllowedUrl('api.example.com', url))).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'url' } });
  });

  it.each([
    ['a backslash', 'https://api.example.com\\@evil.invalid/', /backslash/],
    ['a user name', 'https://user@api.example.com/', /user name, a password/],
    ['a password', 'https://:pw@api.example.com/', /user name, a password/],
    ['an empty user name', 'https://@api.example.com/', /user name, a password/],
    ['a percent-encoded host', 'https://api.exa%6Dple.com/', /percent-encode its host/],
    ['a percent-encoded slash in the host', 'https://api.example.com%2f.evil.invalid/', /percent-encode its host/],
    ['a tab', 'https://api.example.com\t/', /printable ASCII/],
    ['a non-ASCII host', 'https://bücher.example/', /xn-- form/],
    ['a DEL', 'https://api.example.com/\u007f', /printable ASCII/],
    ['the default port', 'https://api.example.com:443/', /serialise/],
    ['an empty port', 'https://api.example.com:/', /serialise/],
    ['missing slashes', 'https:api.example.com/', /serialise/],
    ['three slashes', 'https:///api.example.com/', /serialise/],
    ['dot segments', 'https://api.example.com/a/../b', /serialise/],
    ['a quote the parser encodes', 'https://api.example.com/?q="x"', /serialise/],
  ])('refuses a URL with %s as ambiguous', (_label, url, message) => {
    const error = refusal(() => requireAllowedUrl('api.example.com', url));
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'url', reason: 'AMBIGUOUS_URL' } });
    expect(error.message).toMatch(message);
  });

  it('matches hosts exactly or, for a wildcard, as proper subdomains', () => {
    expect(hostAllowed('api.example.com', 'api.example.com')).toBe(true);
    expect(hostAllowed('*.example.com', '.example.com')).toBe(false);
    expect(hostAllowed('*.example.com', 'x.example.com')).toBe(true);
  });
});
