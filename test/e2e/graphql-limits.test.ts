import { randomBytes } from 'node:crypto';
import { errorCode, graphql, type GraphQLResponse } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, settledHeadPosition, startTestGateway, type TestGateway } from '../helpers/gateway';
import { SubscriberClient, type SubscriptionRecord } from '../helpers/subscriptions';
import { TOKEN_FIELDS, TOKENS } from './suites/token-operations';

const NO_STACK_TRACE = /stacktrace|exception|\bat [A-Za-z.<>]+ \(|\.ts:\d+|\/src\/|node_modules/;
/** Per-IP rate limits off, so that only the limits under test answer. */
const NO_RATE_LIMITS = {
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
};

/** `count` aliased copies of a selection: `a0: <field> a1: <field> …`. */
function aliased(count: number, field: string): string {
  return Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ');
}

function expectRefused(response: GraphQLResponse, message: RegExp): void {
  expect(response.status).toBe(400);
  expect(response.data ?? null).toBeNull();
  expect(response.errors).toHaveLength(1);
  expect(response.errors![0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
  expect(response.errors![0].message).toMatch(message);
  expect(response.raw).not.toMatch(NO_STACK_TRACE);
}

async function subscribeOnce(url: string, bearer: string, query: string): Promise<SubscriptionRecord> {
  const subscriber = new SubscriberClient(url, bearer);
  try {
    await subscriber.connected();
    const record = subscriber.subscribe({}, query);
    await subscriber.until(() => record.ended);
    return record;
  } finally {
    await subscriber.dispose();
  }
}

describe('GraphQL limits with the default configuration (development)', () => {
  let gw: TestGateway;
  let admin: string;
  let reader: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: NO_RATE_LIMITS });
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'limits', roles: ['keyledger:admin'] }));
    ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
  });
  afterAll(async () => gw?.stop());

  describe('query complexity', () => {
    const PAGES = `query Pages($first: Int) { ${aliased(13, 'tokens(first: $first) { edges { node { id name } } }')} }`;

    it('accepts the largest real query: a page of 100 tokens with every field', async () => {
      const response = await graphql(gw.url, TOKENS, { first: 100 }, admin);
      expect(response.errors).toBeUndefined();
      expect(response.data!.tokens.edges.length).toBeGreaterThanOrEqual(2);
    });

    it('prices a paged list by `first`: 13 pages of 90 pass, 13 pages of 100 cost 13 × 401 and are refused', async () => {
      const ninety = await graphql(gw.url, PAGES, { first: 90 }, admin);
      expect(ninety.errors).toBeUndefined();
      expect(ninety.data!.a12.edges.length).toBeGreaterThanOrEqual(2);
      const hundred = await graphql(gw.url, PAGES, { first: 100 }, admin);
      expectRefused(hundred, /^The operation costs 5213, over the limit of 5000: ask for fewer items \(first\), fields or aliases$/);
    });

    it('prices each request of one document by its own variables: a page a directive leaves out costs nothing', async () => {
      const page = 'tokens(first: 100) { edges { node { id name } } }';
      const optional = `query Optional($more: Boolean!) { ${aliased(12, page)} more: ${page.replace('{', '@include(if: $more) {')} }`;
      for (const more of [false, false]) {
        const without = await graphql(gw.url, optional, { more }, admin);
        expect(without.errors).toBeUndefined();
      }
      expectRefused(await graphql(gw.url, optional, { more: true }, admin), /^The operation costs 5213, over the limit of 5000/);
    });

    it('prices a list without `first` at the default page size of 20', async () => {
      const response = await graphql(gw.url, PAGES, {}, admin);
      expect(response.errors).toBeUndefined();
      const many = await graphql(gw.url, `{ ${aliased(62, 'tokens { edges { node { id name } } }')} }`, {}, admin);
      expectRefused(many, /^The operation costs 5022, over the limit of 5000/);
    });

    it('aliases add up: tokens(first: 100) aliased 50 times is refused, once it is answered', async () => {
      const field = `tokens(first: 100) { edges { node { ${TOKEN_FIELDS} } } }`;
      const once = await graphql(gw.url, `{ ${aliased(1, field)} }`, {}, admin);
      expect(once.errors).toBeUndefined();
      const fifty = await graphql(gw.url, `{ ${aliased(50, field)} }`, {}, admin);
      expectRefused(fifty, /^The operation costs 100050, over the limit of 5000/);
    });

    it('counts a fragment every time it is spread', async () => {
      const spreads = Array.from({ length: 13 }, (_, i) => `a${i}: tokens(first: 100) { ...Page }`).join(' ');
      const response = await graphql(gw.url, `query { ${spreads} } fragment Page on ApiTokenConnection { edges { node { id name } } }`, {}, admin);
      expectRefused(response, /^The operation costs 5213,/);
    });

    it('refuses fragments that fan out beyond what can be priced, without running them', async () => {
      const levels = ['fragment F0 on ApiToken { id name }'];
      for (let i = 1; i <= 6; i++) levels.push(`fragment F${i} on ApiToken { ${Array.from({ length: 10 }, () => `...F${i - 1}`).join(' ')} }`);
      const response = await graphql(gw.url, `query { token(id: "x") { ...F6 } } ${levels.join(' ')}`, {}, admin);
      expectRefused(response, /^The operation (cannot be run|costs \d+, over the limit)/);
    });

    it('verifyToken costs an argon2 check: 49 aliases pass, 50 are refused', async () => {
      const field = 'verifyToken(token: "not-a-token") { valid }';
      const allowed = await graphql(gw.url, `{ ${aliased(49, field)} }`, {}, reader);
      expect(allowed.errors).toBeUndefined();
      expect(allowed.data!.a48).toEqual({ valid: false });
      expectRefused(await graphql(gw.url, `{ ${aliased(50, field)} }`, {}, reader), /^The operation costs 5050, over the limit of 5000/);
    });

    it('auditIntegrity recomputes a chain: five in one request are refused, as is any second one', async () => {
      const response = await graphql(gw.url, `{ ${aliased(5, 'auditIntegrity { ok }')} }`, {}, admin);
      expectRefused(response, /^The operation selects auditIntegrity 5 times; at most once per operation is allowed/);
    });

    it('each mutation costs 100: 50 aliased revocations are refused and none is written', async () => {
      const ids = await Promise.all([0, 1].map(async (i) => (await issueToken(gw.url, admin, { name: `victim ${i}` })).id));
      const before = await settledHeadPosition(gw.gateway);
      const revocations = Array.from({ length: 50 }, (_, i) => `r${i}: revokeToken(input: { id: "${ids[i % 2]}" }) { id }`).join(' ');
      const response = await graphql(gw.url, `mutation { ${revocations} }`, {}, admin);
      expectRefused(response, /^The operation costs 5050, over the limit of 5000/);
      expect(await settledHeadPosition(gw.gateway)).toBe(before);
      const token = await graphql(gw.url, 'query T($id: ID!) { token(id: $id) { status } }', { id: ids[0] }, admin);
      expect(token.data!.token).toEqual({ status: 'ACTIVE' });
    });

    it('applies the same limit to subscribe messages over WebSocket', async () => {
      // A subscription has one root field; spreading a fragment hundreds of times still adds up.
      const spreads = Array.from({ length: 600 }, () => '...N').join(' ');
      const record = await subscribeOnce(
        gw.url,
        reader,
        `subscription { tokenRevoked { ${spreads} } } fragment N on RevocationNotice { tokenId kind reason effectiveAt eventId position actor { type id } }`,
      );
      expect(record.notices).toEqual([]);
      expect(record.errors).toEqual([{ message: expect.stringMatching(/^The operation costs 5401, over the limit of 5000/), extensions: { code: 'BAD_USER_INPUT' } }]);
      expect(JSON.stringify(record.raw)).not.toMatch(NO_STACK_TRACE);
    });
  });

  describe('parser token limit', () => {
    /** `{ viewer { a0: id … a664: id } }`: 5 + 3 × 665 = 2000 tokens. */
    const aliasedIds = Array.from({ length: 665 }, (_, i) => `a${i}: id`).join(' ');

    it('parses a document of 2000 tokens and refuses one of 2001 over HTTP', async () => {
      const within = await graphql(gw.url, `{ viewer { ${aliasedIds} } }`, {}, reader);
      expect(within.errors).toBeUndefined();
      expect(within.data!.viewer.a664).toEqual(expect.any(String));
      const over = await graphql(gw.url, `{ viewer { ${aliasedIds} __typename } }`, {}, reader);
      expectRefused(over, /^Syntax Error: Document contains more tha[nt] 2000 tokens\. Parsing aborted\.$/);
    });

    it('refuses a subscribe message of more than 2000 tokens over WebSocket', async () => {
      const fields = Array.from({ length: 2000 }, () => 'tokenId').join(' ');
      const record = await subscribeOnce(gw.url, reader, `subscription { tokenRevoked { ${fields} } }`);
      expect(record.errors).toHaveLength(1);
      expect(record.errors[0].message).toMatch(/Document contains more tha[nt] 2000 tokens/);
      expect(record.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('requests refused before GraphQL', () => {
    it('refuses a batch with BAD_USER_INPUT and runs none of its operations', async () => {
      const before = await settledHeadPosition(gw.gateway);
      const issue = { query: 'mutation { issueToken(input: { name: "batched" }) { secret } }' };
      const response = await fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify([issue, issue]),
      });
      expect(response.status).toBe(400);
      const raw = await response.text();
      expect(JSON.parse(raw).errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
      expect(raw).not.toMatch(NO_STACK_TRACE);
      expect(await settledHeadPosition(gw.gateway)).toBe(before);
    });

    it.each([
      ['text/plain', 'text/plain'],
      ['a form', 'application/x-www-form-urlencoded'],
      ['multipart', 'multipart/form-data; boundary=x'],
    ])('refuses a simple cross-site POST (%s) without running it (CSRF)', async (_label, contentType) => {
      const before = await settledHeadPosition(gw.gateway);
      const response = await fetch(`${gw.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: 'mutation { issueToken(input: { name: "forged" }) { secret } }' }),
      });
      expect(response.status).toBe(400);
      const raw = await response.text();
      expect(JSON.parse(raw).errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
      expect(raw).toMatch(/cross-site request forgery/i);
      expect(await settledHeadPosition(gw.gateway)).toBe(before);
    });

    it('answers a GET query only with a preflight header (CSRF)', async () => {
      const url = `${gw.url}/graphql?query=${encodeURIComponent('{ viewer { tenantId } }')}`;
      const simple = await fetch(url, { headers: { authorization: `Bearer ${reader}` } });
      expect(simple.status).toBe(400);
      const preflighted = await fetch(url, { headers: { authorization: `Bearer ${reader}`, 'apollo-require-preflight': 'true' } });
      expect(preflighted.status).toBe(200);
      expect(await preflighted.json()).toEqual({ data: { viewer: { tenantId: 'limits' } } });
    });

    it('answers every operation, served or refused, with Cache-Control: no-store', async () => {
      const post = (query: string, bearer?: string) =>
        fetch(`${gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
          body: JSON.stringify({ query }),
        });
      for (const response of [await post('{ viewer { tenantId } }', reader), await post('{ viewer { tenantId } }'), await post('{ nope }', reader)]) {
        expect(response.headers.get('cache-control')).toBe('no-store');
      }
    });
  });

  describe('development errors and introspection', () => {
    it('serves introspection', async () => {
      const response = await graphql(gw.url, '{ __schema { queryType { name } } }', {}, reader);
      expect(response.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    });

    it('keeps graphql-js suggestions, which help developers', async () => {
      const response = await graphql(gw.url, '{ tokenz { totalCount } }', {}, reader);
      expect(response.errors![0].message).toBe('Cannot query field "tokenz" on type "Query". Did you mean "token" or "tokens"?');
    });
  });
});

describe('GraphQL limits in production, with limits of its own', () => {
  let gw: TestGateway;
  let reader: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      env: {
        ...NO_RATE_LIMITS,
        NODE_ENV: 'production',
        KEYLEDGER_MASTER_KEY: randomBytes(32).toString('base64'),
        KEYLEDGER_MAX_QUERY_COMPLEXITY: '300',
        KEYLEDGER_MAX_QUERY_TOKENS: '500',
      },
    });
    const { secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'prod', roles: ['keyledger:admin'] });
    ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
  });
  afterAll(async () => gw?.stop());

  it('applies KEYLEDGER_MAX_QUERY_COMPLEXITY', async () => {
    const within = await graphql(gw.url, '{ tokens(first: 74) { edges { node { id name } } } }', {}, reader);
    expect(within.errors).toBeUndefined();
    expectRefused(await graphql(gw.url, '{ tokens(first: 75) { edges { node { id name } } } }', {}, reader), /^The operation costs 301, over the limit of 300/);
  });

  it('applies KEYLEDGER_MAX_QUERY_TOKENS over HTTP and WebSocket', async () => {
    const ids = Array.from({ length: 500 }, () => 'id').join(' ');
    expectRefused(await graphql(gw.url, `{ viewer { ${ids} } }`, {}, reader), /more tha[nt] 500 tokens/);
    const record = await subscribeOnce(gw.url, reader, `subscription { tokenRevoked { ${ids.replace(/id/g, 'tokenId')} } }`);
    expect(record.errors[0]).toMatchObject({ message: expect.stringMatching(/more tha[nt] 500 tokens/), extensions: { code: 'BAD_USER_INPUT' } });
  });

  it.each([
    ['__schema', '{ __schema { queryType { name } } }'],
    ['__type', '{ __type(name: "ApiToken") { fields { name } } }'],
  ])('refuses introspection (%s) with BAD_USER_INPUT', async (_label, query) => {
    const response = await graphql(gw.url, query, {}, reader);
    expectRefused(response, /introspection is not allowed/);
    expect(response.raw).not.toMatch(/ApiToken"|"fields"/);
  });

  it.each([
    ['an unknown field', '{ tokenz { totalCount } }', 'Cannot query field "tokenz" on type "Query".'],
    ['an unknown argument', '{ tokens(frist: 1) { totalCount } }', 'Unknown argument "frist" on field "Query.tokens".'],
    ['an unknown type', 'query ($f: TokenFiltr) { tokens(filter: $f) { totalCount } }', 'Unknown type "TokenFiltr".'],
    ['an unknown input field', '{ tokens(filter: { serch: "x" }) { totalCount } }', 'Field "serch" is not defined by type "TokenFilter".'],
  ])('names no schema suggestion for %s', async (_label, query, message) => {
    const response = await graphql(gw.url, query, {}, reader);
    expect(response.status).toBe(400);
    expect(response.errors!.map((error) => error.message)).toContain(message);
    expect(response.raw).not.toMatch(/Did you mean/);
    expect(response.raw).not.toMatch(NO_STACK_TRACE);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
  });

  it('names no schema suggestion over WebSocket either', async () => {
    const record = await subscribeOnce(gw.url, reader, 'subscription { tokenRevoked { tokenld } }');
    expect(record.errors[0]).toEqual({
      message: 'Cannot query field "tokenld" on type "RevocationNotice".',
      extensions: { code: 'BAD_USER_INPUT' },
      locations: expect.any(Array),
    });
  });

});
