import { connect } from 'node:net';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';

/**
 * /graphql reads the common body (a POST of `application/json` with a Content-Length) itself
 * and leaves every other one to express.json: both must answer the same for the same bytes.
 */
describe('/graphql request bodies', () => {
  let gw: TestGateway;
  let reader: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { KEYLEDGER_BODY_LIMIT: '2kb', KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0' } });
    ({ secret: reader } = await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: 'bodies', roles: ['keyledger:tokens:read'] }));
  });
  afterAll(async () => gw?.stop());

  /** Sends `body` as is; `chunked` sends it without a Content-Length, so express.json reads it. */
  async function send(body: string | Buffer, contentType = 'application/json', chunked = false) {
    const payload = typeof body === 'string' ? Buffer.from(body) : body;
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${reader}` },
      body: chunked ? new Blob([payload]).stream() : payload,
      ...(chunked ? { duplex: 'half' } : {}),
    } as RequestInit);
    return { status: response.status, body: await response.text() };
  }

  const VIEWER = JSON.stringify({ query: '{ viewer { id } }' });

  it.each([
    ['a plain JSON body', VIEWER, 'application/json'],
    ['charset=utf-8', VIEWER, 'application/json; charset=utf-8'],
    ['upper-case media type', VIEWER, 'Application/JSON'],
    ['a byte order mark', `\ufeff${VIEWER}`, 'application/json'],
    ['leading whitespace', `\n\t ${VIEWER}`, 'application/json'],
    ['not JSON', '{"query": ', 'application/json'],
    ['a JSON number', '42', 'application/json'],
    ['a JSON string', '"{ viewer { id } }"', 'application/json'],
    ['a JSON array', '[]', 'application/json'],
    ['over the body limit', JSON.stringify({ query: '{ viewer { id } }', variables: { pad: 'x'.repeat(3000) } }), 'application/json'],
  ])('%s: answered the same with and without a Content-Length', async (_name, body, type) => {
    const measured = await send(body, type);
    const streamed = await send(body, type, true);
    expect(measured).toEqual(streamed);
    expect(measured.status).toBeLessThan(500);
    if (measured.status !== 200) expect(JSON.parse(measured.body).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('answers a valid body, and refuses a body that is not a JSON object with 400', async () => {
    expect((await send(VIEWER)).status).toBe(200);
    const refused = await send('42');
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body).errors[0]).toEqual({ message: 'The request body is not valid JSON', extensions: { code: 'BAD_USER_INPUT' } });
    expect((await send(JSON.stringify({ pad: 'x'.repeat(3000) }))).status).toBe(413);
  });

  it('answers at /graphql as a mounted path does: any case, with a trailing slash or query string, and nowhere else', async () => {
    const at = async (path: string) =>
      (await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${reader}` }, body: VIEWER })).status;
    expect(await at('/graphql')).toBe(200);
    expect(await at('/GraphQL')).toBe(200);
    expect(await at('/graphql/')).toBe(200);
    expect(await at('/graphql?x=1')).toBe(200);
    expect(await at('/graphqlx')).toBe(404);
    expect(await at('/api/graphql')).toBe(404);
  });

  /** The request log lines of the request sent with this `x-request-id`. */
  const logged = (requestId: string) =>
    gw
      .logs()
      .split('\n')
      .filter((line) => line.includes(`"requestId":"${requestId}"`) && line.includes('"msg":"request"'))
      .map((line) => JSON.parse(line) as { method: string; path: string; status: number });

  it('logs every /graphql request, prepared or not, with its id, path and status and without its query string', async () => {
    const post = async (path: string, requestId: string, body: string) => {
      const response = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${reader}`, 'x-request-id': requestId },
        body,
      });
      await response.text();
      return response;
    };
    // A document not sent before is answered by Apollo, and prepared for the next time; one with a syntax error never is.
    const fresh = JSON.stringify({ query: 'query LoggedTwice { viewer { id } }' });
    const prepared = async () => Number(/^keyledger_graphql_prepared_requests_total (\d+)/m.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1]);
    const before = await prepared();
    for (const requestId of ['log-first', 'log-prepared']) {
      const response = await post('/graphql?variables=%7B%22secret%22%3A%22query-string-secret%22%7D', requestId, fresh);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe(requestId);
    }
    expect(await prepared()).toBe(before + 1);
    expect((await post('/GraphQL/', 'log-refused', JSON.stringify({ query: '{ viewer {' }))).status).toBe(400);
    expect((await post('/graphql', 'log-not-json', '{"query": ')).status).toBe(400);
    expect(logged('log-first')).toEqual([expect.objectContaining({ method: 'POST', path: '/graphql', status: 200 })]);
    expect(logged('log-prepared')).toEqual([expect.objectContaining({ method: 'POST', path: '/graphql', status: 200 })]);
    expect(logged('log-refused')).toEqual([expect.objectContaining({ path: '/GraphQL/', status: 400 })]);
    expect(logged('log-not-json')).toEqual([expect.objectContaining({ path: '/graphql', status: 400 })]);
    expect(gw.logs()).not.toContain('query-string-secret');
  });

  it('logs the path of a request target in absolute form, without its query string', async () => {
    const { port } = new URL(gw.url);
    const answer = await new Promise<string>((resolve, reject) => {
      let received = '';
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('GET http://keyledger.example/healthz?token=absolute-form-secret HTTP/1.1\r\nHost: keyledger.example\r\nX-Request-Id: log-absolute\r\nConnection: close\r\n\r\n');
      });
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(logged('log-absolute')).toEqual([expect.objectContaining({ method: 'GET', path: '/healthz', status: 200 })]);
    expect(gw.logs()).not.toContain('absolute-form-secret');
  });

  it('a client that goes away in the middle of its body leaves the gateway answering others', async () => {
    const { port } = new URL(gw.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\nAuthorization: Bearer ${reader}\r\n\r\n{"query":`);
        setImmediate(() => socket.destroy());
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    expect((await send(VIEWER)).status).toBe(200);
  });
});
