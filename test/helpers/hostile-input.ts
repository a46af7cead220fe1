import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { generateToken } from '../../src/crypto/token-format';
import { encodedForms } from './byte-scan';
import { createConnection } from './connections-client';
import { graphql, VERIFY_TOKEN } from './graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from './gateway';
import { createPartnerCredential, EXCHANGE } from './partner-client';
import { scannerKey, writePublicKeysFile, type ScannerKey } from './secret-scanning';
import { makeTempDir } from './temp-dir';
import { testSeed } from './seed';

/** The codes a GraphQL error may carry (the public contract). */
export const CONTRACT_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR'];

/** Stack frames, source paths and error internals: none may reach a client. */
export const STACK_TRACE = /\bat [\w.<>$[\]]+ \(|\bat (?:file:\/\/|\/)|\/src\/|\/dist\/|\.[jt]s:\d+|node_modules|stacktrace|"exception"/i;

/**
 * A gateway and one credential of each kind, to fuzz against. Per-IP and per-key limits are
 * raised out of the way so that the handlers, not the limiters, answer the fuzzed requests.
 */
export interface FuzzTarget {
  gw: TestGateway;
  tenant: string;
  admin: string;
  reader: string;
  partner: { id: string; apiKey: string; apiSecret: string };
  partnerAccessToken: string;
  connection: { integration: string; name: string; apiKey: string };
  integrationKey: { id: string; secret: string };
  /** The key the secret-scanning endpoint trusts, to sign hostile reports with. */
  scanner: ScannerKey;
  /** Every secret the target holds: none may appear in a response or a log line. */
  secrets: string[];
}

export async function startFuzzTarget(): Promise<FuzzTarget> {
  const scanner = scannerKey('fuzz-scanner');
  const keysDir = makeTempDir('fuzz-scanner-keys');
  const gw = await startTestGateway({
    env: {
      KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: writePublicKeysFile(keysDir.path, [scanner]),
      KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE: '0',
      KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
      KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
      KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
      KEYLEDGER_PARTNER_ATTEMPTS_PER_KEY: '100000',
      KEYLEDGER_PARTNER_ATTEMPTS_PER_IP: '1000000',
      KEYLEDGER_CONNECTIONS_REST_RATE_LIMIT: '1000000',
    },
  });
  const tenant = 'fuzz';
  const { secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: tenant, roles: ['keyledger:admin'] });
  const { secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] });
  const partner = await createPartnerCredential(gw.url, admin, { name: 'partner', subTenantIds: ['sub'] });
  const exchanged = await graphql(gw.url, EXCHANGE, { apiKey: partner.apiKey, apiSecret: partner.apiSecret, tenantId: tenant, subTenantId: 'sub' });
  if (exchanged.errors) throw new Error(`exchange failed: ${JSON.stringify(exchanged.errors)}`);
  const connection = { integration: 'fuzz-int', name: 'fuzz-conn', apiKey: `conn-key-${randomBytes(12).toString('hex')}` };
  await createConnection(gw.url, admin, { ...connection, headerName: 'x-api-key', allowedDomain: 'api.example.com' });
  const created = await fetch(`${gw.url}/v2/apps/${tenant}/integrations/int-1/keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ displayName: 'fuzz key' }),
  });
  const { key } = (await created.json()) as { key: { id: string; secret: string } };
  const partnerAccessToken: string = exchanged.data!.exchangePartnerCredential.accessToken;
  const stop = gw.stop.bind(gw);
  gw.stop = async () => {
    await stop();
    keysDir.remove();
  };
  return {
    gw,
    scanner,
    tenant,
    admin,
    reader,
    partner,
    partnerAccessToken,
    connection,
    integrationKey: key,
    secrets: [ROOT_SECRET, admin, reader, partner.apiSecret, partnerAccessToken, connection.apiKey, key.secret],
  };
}

let fuzzSeed: number | undefined;

/**
 * fast-check parameters: one seed per test file, printed, fixed under CI; `KEYLEDGER_FUZZ_SEED`
 * replays a reported run (fast-check also prints the seed and path of any failure) and
 * `KEYLEDGER_FUZZ_RUNS` lengthens one.
 */
export function fuzzParameters(numRuns: number): fc.Parameters<unknown> {
  fuzzSeed ??= testSeed('fuzz', 'KEYLEDGER_FUZZ_SEED');
  return { numRuns: fuzzRuns(numRuns), seed: fuzzSeed, endOnFailure: true };
}

function fuzzRuns(numRuns: number): number {
  const runs = Number(process.env.KEYLEDGER_FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : numRuns;
}

/** A jest timeout for a fuzz test of `numRuns` runs, allowing for a longer run asked for by KEYLEDGER_FUZZ_RUNS. */
export function fuzzTimeout(numRuns: number): number {
  return Math.max(60_000, fuzzRuns(numRuns) * 200);
}

/** Which of `secrets` the text holds in any encoding; empty when clean. */
export function secretsIn(text: string, secrets: readonly string[]): string[] {
  const bytes = Buffer.from(text);
  return secrets.filter((secret) => encodedForms(secret).some((form) => bytes.includes(form))).map((secret) => `${secret.slice(0, 6)}…`);
}

export interface Answer {
  status: number;
  raw: string;
}

/**
 * Sends a request and reads the answer. A connection dropped before an answer is retried
 * once, as the first try may have gone out on a kept-alive socket to an earlier gateway
 * that had the same port; if the same request is dropped again, that is the answer: a failure.
 */
export async function send(url: string, init: RequestInit): Promise<Answer> {
  const attempt = async () => {
    const response = await fetch(url, init);
    return { status: response.status, raw: await response.text() };
  };
  try {
    return await attempt();
  } catch {
    return attempt();
  }
}

/**
 * What every answer to hostile input must be: not a server error, and free of secrets. An
 * error's text (all of it, for an error status) must not show a stack or a source path.
 */
export function expectSafeAnswer(answer: Answer, secrets: readonly string[]): void {
  expect(answer.status).toBeLessThan(500);
  expect(secretsIn(answer.raw, secrets)).toEqual([]);
  if (answer.status >= 400) expect(answer.raw).not.toMatch(STACK_TRACE);
}

/** Also for GraphQL: every error has a contract code and no internals. */
export function expectSafeGraphQLAnswer(answer: Answer, secrets: readonly string[]): { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } {
  expectSafeAnswer(answer, secrets);
  const body = JSON.parse(answer.raw) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  for (const error of body.errors ?? []) {
    expect(CONTRACT_CODES).toContain(error.extensions?.code);
    expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(error)).not.toMatch(STACK_TRACE);
  }
  return body;
}

/**
 * After a fuzz run: the gateway still serves a real request correctly, and nothing it logged
 * holds a secret or reports an unexpected error.
 */
export async function expectStillHealthy(target: FuzzTarget): Promise<void> {
  expect((await fetch(`${target.gw.url}/readyz`)).status).toBe(200);
  const verified = await graphql(target.gw.url, VERIFY_TOKEN, { token: target.integrationKey.secret }, target.reader);
  expect(verified.errors).toBeUndefined();
  expect(verified.data!.verifyToken).toMatchObject({ valid: true, code: 'VALID' });
  const logs = target.gw.logs();
  expect(secretsIn(logs, target.secrets)).toEqual([]);
  const failures = logs.split('\n').filter((line) => /"level":"(error|fatal)"/.test(line));
  expect(failures).toEqual([]);
}

/** Characters a header value can carry (fetch refuses the others before sending). */
export function headerSafe(value: string): string {
  return value.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

const base64url = (value: string | Uint8Array) => Buffer.from(value).toString('base64url');

/** Text of every kind: printable, any code point (controls, lone marks, astral), and long runs of up to `longest` characters. */
export const anyText = (maxLength = 200, longest = 60_000): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'binary-ascii', maxLength }),
    fc.constantFrom('', ' ', '\u0000', '\r\n', '%00', '%', '../../etc/passwd', '{"$gt":""}', "' OR 1=1 --", '<script>', '__proto__', 'constructor'),
    fc.tuple(fc.constantFrom('a', '€', '\u0000', '𝕏'), fc.integer({ min: Math.min(1_000, longest), max: longest })).map(([unit, count]) => unit.repeat(count)),
  );

/** A known credential with one character changed, a character cut or added: near-valid, never valid. */
export const nearMiss = (secret: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.tuple(fc.nat({ max: secret.length - 1 }), fc.constantFrom(...'0aZ9_-.')).map(([at, char]) => {
      const replacement = secret[at] === char ? (char === 'a' ? 'b' : 'a') : char;
      return secret.slice(0, at) + replacement + secret.slice(at + 1);
    }),
    fc.nat({ max: secret.length - 1 }).map((cut) => secret.slice(0, cut)),
    // Never only whitespace: a header value is trimmed, which would give back the secret itself.
    fc.string({ minLength: 1, maxLength: 8 }).filter((extra) => extra.trim().length > 0).map((extra) => secret + extra),
    fc.constant(secret.toUpperCase() === secret ? secret.toLowerCase() : secret.toUpperCase()),
  );

/** JWT-shaped strings: three base64url parts with hostile headers, claims and signatures. */
export const jwtShaped = (kids: readonly string[]): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.record({
        alg: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('none', 'HS256', 'RS256', 'EdDSA', 'ES256', 'HS512', '', 'nOnE') }, fc.jsonValue({ maxDepth: 1 })),
        // Not only strings: a header's values are the client's, whatever type it gives them.
        kid: fc.oneof({ weight: 4, arbitrary: fc.oneof(fc.constantFrom(...kids), anyText(40)) }, fc.jsonValue({ maxDepth: 1 })),
        typ: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('JWT', 'at+jwt', undefined) }, fc.jsonValue({ maxDepth: 1 })),
      }),
      fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ sub: anyText(20), exp: fc.integer(), iss: anyText(20), aud: anyText(20) })),
      fc.oneof(fc.uint8Array({ maxLength: 80 }).map(base64url), fc.constant(''), anyText(20)),
    )
    .map(([header, claims, signature]) => `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims) ?? 'null')}.${signature}`);

/** Every token shape the fuzzer presents, built around the target's real credentials. */
export const hostileToken = (target: FuzzTarget): fc.Arbitrary<string> =>
  fc.oneof(
    anyText(),
    nearMiss(target.admin),
    nearMiss(target.integrationKey.secret),
    nearMiss(target.partnerAccessToken),
    nearMiss(target.partner.apiSecret),
    fc.constantFrom('klt', 'kli', 'klp', 'klps', 'kls', 'abc').map((prefix) => generateToken(prefix)),
    jwtShaped([target.integrationKey.id, 'tok_missing', '']),
    target.partnerAccessToken.split('.').length === 3
      ? fc.tuple(fc.constantFrom(0, 1, 2), anyText(30)).map(([part, text]) => {
          const parts = target.partnerAccessToken.split('.');
          parts[part] = base64url(text);
          return parts.join('.');
        })
      : fc.constant(''),
    fc.tuple(fc.oneof(fc.constant(target.integrationKey.id), anyText(30)), fc.oneof(nearMiss(target.integrationKey.secret), anyText(40))).map(
      ([id, secret]) => `${id}:${secret}`,
    ),
    fc.tuple(fc.constant(target.integrationKey.id), nearMiss(target.integrationKey.secret)).map(
      ([id, secret]) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
    ),
    fc.tuple(fc.constantFrom('Basic ', 'Bearer ', 'basic', 'Basic  '), anyText(60)).map(([scheme, rest]) => scheme + rest),
  );
