import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';

/**
 * A query or mutation Apollo has accepted once is answered again without Apollo's request pipeline. The
 * first request of each case below goes through Apollo; the ones after it may be prepared.
 * Whichever way a request goes, the client must see the same status, headers and bytes.
 */

const NO_RATE_LIMITS = {
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
};

/** Headers that differ between any two responses, prepared or not. */
const PER_RESPONSE_HEADERS = new Set(['date', 'x-request-id', 'keep-alive', 'connection']);

interface Sent {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Sent> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const kept: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!PER_RESPONSE_HEADERS.has(name)) kept[name] = value;
  });
  return { status: response.status, headers: kept, body: await response.text() };
}

async function preparedCount(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^keyledger_graphql_prepared_requests_total (\d+)/m.exec(text);
  if (!match) throw new Error('keyledger_graphql_prepared_requests_total is not exposed');
  return Number(match[1]);
}

const VERIFY = 'query Verify($token: String!, $roles: [String!]) { verifyToken(token: $token, requiredRoles: $roles) { valid code token { id tenantId roles status } } }';

describe('prepared queries: answered without Apollo, byte for byte as Apollo answers', () => {
  let gw: TestGateway;
  let reader: string;
  let writer: string;
  let presented: { id: string; secret: string };

  beforeAll(async () => {
    gw = await startTestGateway({ env: { ...NO_RATE_LIMITS, NODE_ENV: 'production', KEYLEDGER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') } });
    ({ secret: reader } = await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: 'prep', roles: ['keyledger:tokens:read'] }));
    ({ secret: writer } = await issueToken(gw.url, ROOT_SECRET, { name: 'writer', tenantId: 'prep', roles: ['keyledger:tokens:write'] }));
    presented = await issueToken(gw.url, ROOT_SECRET, { name: 'presented', tenantId: 'prep', roles: ['deploy'] });
  });
  afterAll(async () => gw?.stop());

  /** Sends the same request `times` times; answers every response and how many were prepared. */
  async function repeat(body: unknown, headers: Record<string, string>, times = 3): Promise<{ responses: Sent[]; prepared: number }> {
    const before = await preparedCount(gw.url);
    const responses: Sent[] = [];
    for (let i = 0; i < times; i++) responses.push(await post(gw.url, body, headers));
    return { responses, prepared: (await preparedCount(gw.url)) - before };
  }

  const expectAllAlike = (responses: Sent[]) => {
    for (const response of responses.slice(1)) expect(response).toEqual(responses[0]);
  };

  const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

  const sameAnswers: Array<[string, () => { body: unknown; headers: Record<string, string> }]> = [
    ['a valid token', () => ({ body: { query: VERIFY, variables: { token: presented.secret } }, headers: bearer(reader) })],
    ['a token lacking the required roles', () => ({ body: { query: VERIFY, variables: { token: presented.secret, roles: ['admin'] } }, headers: bearer(reader) })],
    ['an unknown token', () => ({ body: { query: VERIFY, variables: { token: 'klt_not-a-real-token' } }, headers: bearer(reader) })],
    ['a caller without a credential (UNAUTHENTICATED)', () => ({ body: { query: VERIFY, variables: { token: presented.secret } }, headers: {} })],
    ['a caller with a wrong credential', () => ({ body: { query: VERIFY, variables: { token: presented.secret } }, headers: bearer('klt_wrong') })],
    ['a caller without the role', () => ({ body: { query: VERIFY, variables: { token: presented.secret } }, headers: bearer(presented.secret) })],
    ['a field error with data beside it', () => ({ body: { query: '{ viewer { id } token(id: "tok_missing") { id } }' }, headers: bearer(reader) })],
    [
      'one operation of several, by name',
      () => ({ body: { query: `query A { viewer { id } } ${VERIFY}`, operationName: 'Verify', variables: { token: presented.secret } }, headers: bearer(reader) }),
    ],
    ['Accept: */*', () => ({ body: { query: VERIFY, variables: { token: presented.secret } }, headers: { ...bearer(reader), accept: '*/*' } })],
    ['a mutation answering an error', () => ({ body: { query: 'mutation { revokeToken(input: {id: "tok_missing", reason: "x"}) { id } }' }, headers: bearer(writer) })],
    [
      'a mutation refused for its role',
      () => ({ body: { query: 'mutation { revokeToken(input: {id: "tok_missing", reason: "x"}) { id } }' }, headers: bearer(reader) }),
    ],
    ['a mutation without a credential', () => ({ body: { query: 'mutation { revokeToken(input: {id: "tok_missing", reason: "x"}) { id } }' }, headers: {} })],
  ];

  it.each(sameAnswers)('%s: every repetition is prepared and answers the same as Apollo did', async (name, request) => {
    const { body, headers } = request();
    // A document of its own (a comment is part of the text), so that Apollo answers the first request.
    const { responses, prepared } = await repeat({ ...(body as object), query: `${(body as { query: string }).query}\n# ${name}` }, headers);
    expectAllAlike(responses);
    expect(responses[0].headers['cache-control']).toBe('no-store');
    expect(responses[0].headers['content-type']).toBe('application/json; charset=utf-8');
    // The first request taught the document; the others were prepared.
    expect(prepared).toBe(2);
  });

  it.each([
    ['a variable of the wrong type', { token: 42 }],
    ['a missing required variable', {}],
    ['variables: null', null],
  ])('%s: refused with 400 by Apollo before the document is prepared and the same after', async (name, variables) => {
    const query = `${VERIFY}\n# ${name}`;
    // Refused variables teach nothing: the document's cost was not priced.
    const refused = await repeat({ query, variables }, bearer(reader), 1);
    expect(refused.prepared).toBe(0);
    expect(refused.responses[0].status).toBe(400);
    expect(JSON.parse(refused.responses[0].body).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    await post(gw.url, { query, variables: { token: presented.secret } }, bearer(reader));
    const after = await repeat({ query, variables }, bearer(reader), 2);
    expect(after.prepared).toBe(2);
    expectAllAlike([...refused.responses, ...after.responses]);
  });

  const leftToApollo: Array<[string, () => { body: unknown; headers: Record<string, string> }]> = [
    [
      'a query whose cost depends on its variables',
      () => ({ body: { query: 'query P($first: Int) { tokens(first: $first) { edges { node { id } } } }', variables: { first: 2 } }, headers: bearer(reader) }),
    ],
    ['a request with extensions', () => ({ body: { query: VERIFY, variables: { token: presented.secret }, extensions: {} }, headers: bearer(reader) })],
    [
      'Accept: application/graphql-response+json',
      () => ({ body: { query: VERIFY, variables: { token: presented.secret } }, headers: { ...bearer(reader), accept: 'application/graphql-response+json' } }),
    ],
    ['an empty operation name', () => ({ body: { query: VERIFY, operationName: '', variables: { token: presented.secret } }, headers: bearer(reader) })],
    ['an operation name the document lacks', () => ({ body: { query: VERIFY, operationName: 'Other', variables: { token: presented.secret } }, headers: bearer(reader) })],
    ['a query over the cost limit', () => ({ body: { query: `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: tokens(first: 100) { edges { node { id name } } }`).join(' ')} }` }, headers: bearer(reader) })],
  ];

  it.each(leftToApollo)('%s: always answered by Apollo, the same each time', async (_name, request) => {
    const { body, headers } = request();
    const { responses, prepared } = await repeat(body, headers);
    expectAllAlike(responses);
    expect(prepared).toBe(0);
  });

  const ISSUE = 'mutation Issue($input: IssueTokenInput!, $key: String) { issueToken(input: $input, idempotencyKey: $key) { secret replayed token { id name roles status } } }';
  const issueBody = (name: string, key?: string, note = 'issue') => ({ query: `${ISSUE}\n# ${note}`, variables: { input: { name, roles: ['deploy'] }, key } });

  it('a mutation is prepared too: every issue writes and answers its own token, as the first did through Apollo', async () => {
    const before = await preparedCount(gw.url);
    const sent: Sent[] = [];
    for (let i = 0; i < 3; i++) sent.push(await post(gw.url, issueBody(`prepared issue ${i}`), bearer(writer)));
    expect((await preparedCount(gw.url)) - before).toBe(2);
    const answers = sent.map((response) => JSON.parse(response.body));
    for (const [i, response] of sent.entries()) {
      expect(response.status).toBe(200);
      expect(response.headers).toEqual(sent[0].headers);
      expect(answers[i].errors).toBeUndefined();
      expect(answers[i].data.issueToken).toMatchObject({ replayed: false, token: { name: `prepared issue ${i}`, roles: ['deploy'], status: 'ACTIVE' } });
      expect(answers[i].data.issueToken.secret).toMatch(/^klt_/);
    }
    expect(new Set(answers.map((answer) => answer.data.issueToken.token.id)).size).toBe(3);
    // Each answer's own write is in the read models already, and its secret authenticates.
    for (const answer of answers) {
      const verified = await post(gw.url, { query: VERIFY, variables: { token: answer.data.issueToken.secret } }, bearer(reader));
      expect(JSON.parse(verified.body).data.verifyToken).toMatchObject({ valid: true, token: { id: answer.data.issueToken.token.id } });
    }
  });

  it('a retry under an idempotency key is replayed with the same answer and extensions whichever way it goes', async () => {
    const key = `prepared-retry-${Date.now()}`;
    const executed = await post(gw.url, issueBody('retried issue', key, 'first'), bearer(writer));
    expect(JSON.parse(executed.body).data.issueToken.replayed).toBe(false);
    // A document of its own: its first request is Apollo's replay, the next two are prepared replays.
    const { responses, prepared } = await repeat(issueBody('retried issue', key, 'retry'), bearer(writer));
    expect(prepared).toBe(2);
    expectAllAlike(responses);
    const replay = JSON.parse(responses[0].body);
    expect(replay.data.issueToken).toMatchObject({ secret: null, replayed: true, token: { id: JSON.parse(executed.body).data.issueToken.token.id } });
    expect(replay.extensions.idempotency.issueToken).toMatchObject({ key, replayed: true });
    // The same key with other arguments is a CONFLICT on both paths.
    const conflicting = await repeat(issueBody('another name', key, 'conflict'), bearer(writer));
    expectAllAlike(conflicting.responses);
    expect(conflicting.prepared).toBe(2);
    expect(JSON.parse(conflicting.responses[0].body).errors[0].extensions.code).toBe('CONFLICT');
  });

  it('a known mutation sent as a simple cross-site request is still refused by Apollo, and nothing is written', async () => {
    const body = issueBody('cross-site issue', undefined, 'csrf');
    await post(gw.url, { ...body, variables: { input: { name: 'same-site issue', roles: ['deploy'] } } }, bearer(writer));
    const before = await preparedCount(gw.url);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const refused = await post(gw.url, JSON.stringify(body), { ...bearer(writer), 'content-type': type });
      expect(refused.status).toBe(400);
    }
    expect((await preparedCount(gw.url)) - before).toBe(0);
    const listed = await post(gw.url, { query: '{ tokens(first: 100) { edges { node { name } } } }' }, bearer(reader));
    const names = JSON.parse(listed.body).data.tokens.edges.map((edge: { node: { name: string } }) => edge.node.name);
    expect(names).toContain('same-site issue');
    expect(names).not.toContain('cross-site issue');
  });

  it('a document Apollo refused is never prepared, and a malformed body is still refused as before', async () => {
    const invalid = await repeat({ query: '{ noSuchField }' }, bearer(reader));
    expectAllAlike(invalid.responses);
    expect(invalid.prepared).toBe(0);
    expect(invalid.responses[0].status).toBe(400);
    const malformed = await repeat('{"query": ', bearer(reader));
    expectAllAlike(malformed.responses);
    expect(malformed.responses[0].status).toBe(400);
    expect(malformed.prepared).toBe(0);
  });

  it('prepared answers are counted by operation like any other', async () => {
    const metric = /^keyledger_graphql_requests_total\{operation="query:verifyToken",outcome="ok"\} (\d+)/m;
    const count = async () => Number(metric.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);
    const before = await count();
    const { prepared } = await repeat({ query: VERIFY, variables: { token: presented.secret } }, bearer(reader), 4);
    expect(prepared).toBeGreaterThanOrEqual(3);
    expect((await count()) - before).toBe(4);
  });

  it('a token revoked between two prepared verifications is refused by the next one', async () => {
    const victim = await issueToken(gw.url, ROOT_SECRET, { name: 'victim', tenantId: 'prep', roles: ['deploy'] });
    const verify = () => post(gw.url, { query: VERIFY, variables: { token: victim.secret } }, bearer(reader));
    await verify();
    expect(JSON.parse((await verify()).body).data.verifyToken).toMatchObject({ valid: true, code: 'VALID' });
    const revoked = await post(
      gw.url,
      { query: 'mutation R($input: RevokeTokenInput!) { revokeToken(input: $input) { status } }', variables: { input: { id: victim.id, reason: 'test' } } },
      bearer(writer),
    );
    expect(JSON.parse(revoked.body).data.revokeToken.status).toBe('REVOKED');
    const before = await preparedCount(gw.url);
    expect(JSON.parse((await verify()).body).data.verifyToken).toMatchObject({ valid: false, code: 'REVOKED' });
    expect((await preparedCount(gw.url)) - before).toBe(1);
  });
});

describe('prepared mutations: the mutation rate limit charges them as it charges Apollo\'s', () => {
  let gw: TestGateway;
  afterAll(async () => gw?.stop());

  it('once the credential\'s budget is spent, prepared and Apollo-answered mutations are refused alike', async () => {
    gw = await startTestGateway({
      env: { KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0', KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0', KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '2' },
    });
    const { secret } = await issueToken(gw.url, ROOT_SECRET, { name: 'limited writer', tenantId: 'prep', roles: ['keyledger:tokens:write'] });
    const revoke = (note: string) => ({ query: `mutation { revokeToken(input: {id: "tok_missing", reason: "x"}) { id } }\n# ${note}` });
    const headers = { authorization: `Bearer ${secret}` };
    const before = await preparedCount(gw.url);
    // Two within the budget (Apollo, then prepared), then refused: prepared, then Apollo for a new text, then prepared.
    const sent = [await post(gw.url, revoke('a'), headers), await post(gw.url, revoke('a'), headers)];
    sent.push(await post(gw.url, revoke('a'), headers), await post(gw.url, revoke('b'), headers), await post(gw.url, revoke('b'), headers));
    expect((await preparedCount(gw.url)) - before).toBe(3);
    const codes = sent.map((response) => JSON.parse(response.body).errors[0].extensions.code);
    expect(codes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    for (const refused of sent.slice(2)) {
      expect(refused.status).toBe(sent[2].status);
      expect(Object.keys(refused.headers).sort()).toEqual(Object.keys(sent[2].headers).sort());
      expect(JSON.parse(refused.body).errors[0].extensions.retryAfter).toBeGreaterThan(0);
      expect(JSON.parse(refused.body).data).toEqual(JSON.parse(sent[2].body).data);
    }
  });
});
