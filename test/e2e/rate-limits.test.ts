import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { SecretHasher } from '../../src/crypto/secret-hash';
import { generateToken } from '../../src/crypto/token-format';
import { errorCode, graphql, ISSUE_TOKEN, REVOKE_TOKEN, type GraphQLResponse } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, startTestGateway, type TestGateway } from '../helpers/gateway';
import { createPartnerCredential, EXCHANGE, postForm, sourceExchange, sourceHeaders } from '../helpers/partner-client';
import { wsUrl } from '../helpers/subscriptions';

/** Every test gateway trusts loopback proxies, so each test speaks from client addresses of its own. */
const FROM_PROXY = { KEYLEDGER_TRUST_PROXY: 'loopback' };
const GENEROUS = {
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
};

const UNKNOWN_TOKEN = generateToken('kl');
const ISSUE_ROLES = { roles: ['keyledger:admin'] };
const REVOKE_NOTHING = `mutation { revokeToken(input: { id: "tok_does_not_exist" }) { id } }`;
const IMPORT_TOKEN = `mutation($input: ImportTokenInput!) { importToken(input: $input) { id } }`;
/** A chosen (imported) secret: verified with argon2, unlike generated tokens. */
const IMPORTED_SECRET = 'limits-imported-secret-0123456789';

function from(ip: string): Record<string, string> {
  return { 'x-forwarded-for': ip };
}

function issue(url: string, bearer: string, name: string, ip: string): Promise<GraphQLResponse> {
  return graphql(url, ISSUE_TOKEN, { input: { name } }, bearer, from(ip));
}

async function http(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = await response.text();
  return { status: response.status, body: raw ? JSON.parse(raw) : null, headers: response.headers };
}

function expectRateLimited(response: GraphQLResponse): number {
  expect(errorCode(response)).toBe('RATE_LIMITED');
  const retryAfter = response.errors![0].extensions!.retryAfter as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
  return retryAfter;
}

function expectRetryAfterHeader(headers: Headers): void {
  const value = Number(headers.get('retry-after'));
  expect(Number.isInteger(value)).toBe(true);
  expect(value).toBeGreaterThanOrEqual(1);
  expect(value).toBeLessThanOrEqual(60);
}

/** A WebSocket whose upgrade request carries the given headers (here, the forwarded client). */
function socketWith(headers: Record<string, string>): typeof WebSocket {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  } as unknown as typeof WebSocket;
}

async function wsConnect(url: string, bearer: string, ip: string): Promise<{ code: number; reason: string } | 'connected'> {
  let closed: { code: number; reason: string } | null = null;
  let acknowledged = false;
  const ws = createClient({
    url: wsUrl(url),
    webSocketImpl: socketWith(from(ip)),
    connectionParams: { authorization: `Bearer ${bearer}` },
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => undefined,
    on: {
      connected: () => {
        acknowledged = true;
      },
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closed ??= { code, reason: String(reason) };
      },
    },
  });
  const deadline = Date.now() + 5000;
  while (!acknowledged && closed === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await ws.dispose();
  if (acknowledged) return 'connected';
  if (closed === null) throw new Error('the WebSocket neither connected nor closed');
  return closed;
}

describe('mutation limits per credential', () => {
  let gw: TestGateway;
  let first: string;
  let second: string;
  let firstId: string;
  const tenant = 'limits-principal';

  beforeAll(async () => {
    gw = await startTestGateway({
      env: { ...GENEROUS, ...FROM_PROXY, KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '4' },
    });
    ({ secret: first, id: firstId } = await issueToken(gw.url, ROOT_SECRET, { name: 'first', tenantId: tenant, ...ISSUE_ROLES }));
    ({ secret: second } = await issueToken(gw.url, ROOT_SECRET, { name: 'second', tenantId: tenant, ...ISSUE_ROLES }));
  });
  afterAll(async () => gw.stop());

  it('refuses the credential that spent its budget, appends nothing, and leaves another credential alone', async () => {
    for (let i = 0; i < 4; i++) expect((await issue(gw.url, first, `first-${i}`, `192.0.2.${i + 1}`)).errors).toBeUndefined();
    const before = await settledHeadPosition(gw.gateway);
    // From yet another address: the budget is the credential's, wherever it calls from.
    const refused = await issue(gw.url, first, 'first-over', '192.0.2.99');
    expectRateLimited(refused);
    expect(refused.errors![0].message).toMatch(/this credential/);
    expect(refused.errors![0].path).toEqual(['issueToken']);
    expect(await settledHeadPosition(gw.gateway)).toBe(before);

    expect((await issue(gw.url, second, 'second-0', '192.0.2.1')).errors).toBeUndefined();
  });

  it('charges each aliased mutation: the fifth of five is refused, the first four are carried out', async () => {
    const { secret: aliases } = await issueToken(gw.url, ROOT_SECRET, { name: 'aliases', tenantId: tenant, ...ISSUE_ROLES });
    const response = await graphql(
      gw.url,
      `mutation {
        a: issueToken(input: { name: "alias-a" }) { token { id } }
        b: issueToken(input: { name: "alias-b" }) { token { id } }
        c: issueToken(input: { name: "alias-c" }) { token { id } }
        d: issueToken(input: { name: "alias-d" }) { token { id } }
        e: issueToken(input: { name: "alias-e" }) { token { id } }
      }`,
      {},
      aliases,
      from('192.0.2.50'),
    );
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0].path).toEqual(['e']);
    expectRateLimited(response);
    const listed = await graphql(gw.url, `{ tokens(first: 50) { edges { node { name } } } }`, {}, second);
    const names = (listed.data!.tokens.edges as Array<{ node: { name: string } }>).map((edge) => edge.node.name);
    expect(names.filter((name) => name.startsWith('alias-')).sort()).toEqual(['alias-a', 'alias-b', 'alias-c', 'alias-d']);
  });

  it('limits the REST writes with the same budget, in each API’s own error shape', async () => {
    const { secret: rest } = await issueToken(gw.url, ROOT_SECRET, { name: 'rest', tenantId: tenant, ...ISSUE_ROLES });
    const headers = { authorization: `Bearer ${rest}`, ...from('192.0.2.60') };
    const keys = `/v2/apps/${tenant}/integrations/int-1/keys`;
    const created = await http(gw.url, 'POST', keys, headers, { displayName: 'one' });
    expect(created.status).toBe(201);
    expect((await http(gw.url, 'DELETE', `${keys}/${created.body.key.id}`, headers)).status).toBe(200);
    expect((await issue(gw.url, rest, 'rest-graphql', '192.0.2.60')).errors).toBeUndefined();
    const connection = { name: 'rest_c1', header_name: 'x-api-key', api_key: 'sk_live_Zq8vJw3xTn5pLr2Hs9Kd', allowed_domain: 'api.example.com' };
    const connections = '/api/services/zis/integrations/zis-1/connections/api_key';
    expect(await http(gw.url, 'POST', connections, headers, connection)).toMatchObject({ status: 201 });

    const before = await settledHeadPosition(gw.gateway);
    const refusedKey = await http(gw.url, 'POST', keys, headers, { displayName: 'two' });
    expect(refusedKey.status).toBe(429);
    expectRetryAfterHeader(refusedKey.headers);
    expect(refusedKey.body).toEqual({ errors: [{ code: 'too_many_requests', title: expect.stringMatching(/this credential/) }] });
    const refusedConnection = await http(gw.url, 'DELETE', `${connections}/rest_c1`, headers);
    expect(refusedConnection.status).toBe(429);
    expectRetryAfterHeader(refusedConnection.headers);
    expect(refusedConnection.body).toEqual({ errors: [{ code: 'TooManyRequests', title: expect.any(String) }] });
    const revoke = await postForm(gw.url, '/oauth/revoke', { token: first }, headers);
    expect(revoke.status).toBe(429);
    expect(revoke.body).toMatchObject({ error: 'temporarily_unavailable' });
    expectRetryAfterHeader(revoke.headers);
    expect(await settledHeadPosition(gw.gateway)).toBe(before);

    // Reads are not mutations: they stay open.
    expect((await http(gw.url, 'GET', keys, headers)).status).toBe(200);
    expect((await http(gw.url, 'GET', `${connections}/rest_c1`, headers)).status).toBe(200);
    expect((await graphql(gw.url, `query { token(id: "${firstId}") { id } }`, {}, rest, from('192.0.2.60'))).errors).toBeUndefined();
  });
});

describe('mutation limits per client address', () => {
  let gw: TestGateway;
  let admin: string;
  let other: string;
  const tenant = 'limits-ip';

  beforeAll(async () => {
    gw = await startTestGateway({ env: { ...GENEROUS, ...FROM_PROXY, KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '3' } });
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: tenant, ...ISSUE_ROLES }));
    ({ secret: other } = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: tenant, ...ISSUE_ROLES }));
  });
  afterAll(async () => gw.stop());

  it('counts every credential calling from one address against it, and only that address', async () => {
    const ip = '198.51.100.7';
    expect((await issue(gw.url, admin, 'ip-1', ip)).errors).toBeUndefined();
    expect((await issue(gw.url, other, 'ip-2', ip)).errors).toBeUndefined();
    expect((await issue(gw.url, admin, 'ip-3', ip)).errors).toBeUndefined();
    const before = await settledHeadPosition(gw.gateway);
    const refused = await issue(gw.url, other, 'ip-4', ip);
    expectRateLimited(refused);
    expect(refused.errors![0].message).toMatch(/this address/);
    expect(await settledHeadPosition(gw.gateway)).toBe(before);
    // The forwarded client is what is charged: the same credential from another client is fine.
    expect((await issue(gw.url, other, 'ip-5', '198.51.100.8')).errors).toBeUndefined();
  });

  it('limits the anonymous partner exchange per address on GraphQL, OAuth and the source route', async () => {
    const credential = await createPartnerCredential(gw.url, admin, { name: 'partner', subTenantIds: ['sub-1'] });
    const ip = '198.51.100.20';
    const exchange = () =>
      graphql(gw.url, EXCHANGE, { apiKey: credential.apiKey, apiSecret: credential.apiSecret, tenantId: tenant, subTenantId: 'sub-1' }, undefined, from(ip));
    expect((await exchange()).errors).toBeUndefined();
    const form = { grant_type: 'client_credentials', client_id: credential.apiKey, client_secret: credential.apiSecret, tenant_id: tenant, sub_tenant_id: 'sub-1' };
    expect((await postForm(gw.url, '/oauth/token', form, from(ip))).status).toBe(200);
    expect((await sourceExchange(gw.url, { ...sourceHeaders(credential, tenant, 'sub-1'), ...from(ip) })).status).toBe(200);

    expectRateLimited(await exchange());
    const oauth = await postForm(gw.url, '/oauth/token', form, from(ip));
    expect(oauth.status).toBe(429);
    expect(oauth.body).toMatchObject({ error: 'temporarily_unavailable' });
    expectRetryAfterHeader(oauth.headers);
    const source = await sourceExchange(gw.url, { ...sourceHeaders(credential, tenant, 'sub-1'), ...from(ip) });
    expect(source.status).toBe(429);
    expect(source.body).toEqual({ success: false, message: 'Rate limit exceeded. Try again in 60 seconds.' });
    expectRetryAfterHeader(source.headers);
  });
});

describe('client addresses without a trusted proxy', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { ...GENEROUS, KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '2' } });
  });
  afterAll(async () => gw.stop());

  it('ignores a forged X-Forwarded-For: every request is charged to the connecting address', async () => {
    expect(errorCode(await graphql(gw.url, REVOKE_NOTHING, {}, ROOT_SECRET, from('203.0.113.1')))).toBe('NOT_FOUND');
    expect(errorCode(await graphql(gw.url, REVOKE_NOTHING, {}, ROOT_SECRET, from('203.0.113.2')))).toBe('NOT_FOUND');
    expectRateLimited(await graphql(gw.url, REVOKE_NOTHING, {}, ROOT_SECRET, from('203.0.113.3')));
  });
});

describe('failed authentication limits per client address', () => {
  let gw: TestGateway;
  let revoked: string;
  let reader: string;
  const tenant = 'limits-auth';

  beforeAll(async () => {
    gw = await startTestGateway({ env: { ...GENEROUS, ...FROM_PROXY, KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3' } });
    const issued = await issueToken(gw.url, ROOT_SECRET, { name: 'revoked', tenantId: tenant });
    revoked = issued.secret;
    expect((await graphql(gw.url, REVOKE_TOKEN, { input: { id: issued.id } }, ROOT_SECRET)).errors).toBeUndefined();
    ({ secret: reader } = await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: tenant, roles: ['keyledger:tokens:read'] }));
    const importing = await graphql(gw.url, IMPORT_TOKEN, { input: { name: 'imported', tenantId: tenant, secret: IMPORTED_SECRET } }, ROOT_SECRET);
    expect(importing.errors).toBeUndefined();
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await gw.stop();
  });

  const viewer = (bearer: string, ip: string) => graphql(gw.url, '{ viewer { id } }', {}, bearer, from(ip));

  it('locks an address out after refused credentials of every kind, before any lookup, valid credentials included', async () => {
    const ip = '192.0.2.10';
    for (const bearer of [UNKNOWN_TOKEN, 'not-a-token', revoked]) expect(errorCode(await viewer(bearer, ip))).toBe('UNAUTHENTICATED');

    const lookups = jest.spyOn(SecretHasher.prototype, 'lookupHash');
    const argon2 = jest.spyOn(SecretHasher.prototype, 'argon2Verify');
    const locked = await viewer(ROOT_SECRET, ip);
    expect(locked.status).toBe(429);
    expectRateLimited(locked);
    const header = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${reader}`, ...from(ip) },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(header.status).toBe(429);
    expectRetryAfterHeader(header.headers);
    expect(lookups).not.toHaveBeenCalled();
    expect(argon2).not.toHaveBeenCalled();

    // Another address is not affected; its requests reach the hasher, so the spies above are on the path.
    expect((await viewer(reader, '192.0.2.11')).errors).toBeUndefined();
    expect(lookups).toHaveBeenCalledWith(reader);
    expect((await viewer(IMPORTED_SECRET, '192.0.2.11')).errors).toBeUndefined();
    expect(argon2).toHaveBeenCalledWith(expect.any(String), IMPORTED_SECRET);
    lookups.mockRestore();
    argon2.mockRestore();
  });

  it('is not reset by a success in between', async () => {
    const ip = '192.0.2.20';
    expect(errorCode(await viewer(UNKNOWN_TOKEN, ip))).toBe('UNAUTHENTICATED');
    expect(errorCode(await viewer(UNKNOWN_TOKEN, ip))).toBe('UNAUTHENTICATED');
    expect((await viewer(reader, ip)).errors).toBeUndefined();
    expect(errorCode(await viewer(UNKNOWN_TOKEN, ip))).toBe('UNAUTHENTICATED');
    expectRateLimited(await viewer(reader, ip));
  });

  it('does not count requests that present no credential', async () => {
    const ip = '192.0.2.30';
    for (let i = 0; i < 5; i++) expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, undefined, from(ip)))).toBe('UNAUTHENTICATED');
    expect((await viewer(reader, ip)).errors).toBeUndefined();
  });

  it('counts refusals on REST, OAuth and WebSocket alike, and refuses each of them once locked', async () => {
    const ip = '192.0.2.40';
    const keys = `/v2/apps/${tenant}/integrations/int-1/keys`;
    const connections = '/api/services/zis/integrations/zis-1/connections/api_key/rest_c1';
    expect((await http(gw.url, 'GET', keys, { authorization: `Bearer ${UNKNOWN_TOKEN}`, ...from(ip) })).status).toBe(401);
    expect((await postForm(gw.url, '/oauth/introspect', { token: reader }, { authorization: `Bearer ${UNKNOWN_TOKEN}`, ...from(ip) })).status).toBe(401);
    expect(await wsConnect(gw.url, UNKNOWN_TOKEN, ip)).toMatchObject({ code: 4401 });

    const restKeys = await http(gw.url, 'GET', keys, { authorization: `Bearer ${reader}`, ...from(ip) });
    expect(restKeys.status).toBe(429);
    expectRetryAfterHeader(restKeys.headers);
    expect(restKeys.body).toEqual({ errors: [{ code: 'too_many_requests', title: expect.stringMatching(/failed authentications/) }] });
    const restConnections = await http(gw.url, 'GET', connections, { authorization: `Bearer ${reader}`, ...from(ip) });
    expect(restConnections.status).toBe(429);
    expect(restConnections.body).toEqual({ errors: [{ code: 'TooManyRequests', title: expect.any(String) }] });
    const oauth = await postForm(gw.url, '/oauth/introspect', { token: reader }, { authorization: `Bearer ${reader}`, ...from(ip) });
    expect(oauth.status).toBe(429);
    expect(oauth.body).toMatchObject({ error: 'temporarily_unavailable' });
    expectRetryAfterHeader(oauth.headers);
    expect(await wsConnect(gw.url, reader, ip)).toMatchObject({ code: 4429 });
    expect(await wsConnect(gw.url, reader, '192.0.2.41')).toBe('connected');
  });
});

describe('limits set to 0', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: GENEROUS });
  });
  afterAll(async () => gw.stop());

  it('are off: more failures and mutations than any default allows all go through', async () => {
    for (let i = 0; i < 40; i++) expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, UNKNOWN_TOKEN))).toBe('UNAUTHENTICATED');
    expect((await graphql(gw.url, '{ viewer { id } }', {}, ROOT_SECRET)).errors).toBeUndefined();

    // Past the default 300 per credential and 600 per address; a mutation is charged even when it fails.
    const codes = new Set<string | undefined>();
    for (let batch = 0; batch < 31; batch++) {
      const responses = await Promise.all(Array.from({ length: 20 }, () => graphql(gw.url, REVOKE_NOTHING, {}, ROOT_SECRET)));
      for (const response of responses) codes.add(errorCode(response));
    }
    expect([...codes]).toEqual(['NOT_FOUND']);
  });
});
