import { ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';

/** What a newcomer meets in the first hour: start-up refusals and error messages that say what to do. */
describe("a newcomer's first requests", () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw.stop());

  const post = (body: string, headers: Record<string, string>) => fetch(`${gw.url}/graphql`, { method: 'POST', headers, body });

  it('an inline literal a scalar refuses is not echoed, and the message says which format was expected', async () => {
    const secret = 'klt_NotADateButASecret0123456789';
    const response = await post(JSON.stringify({ query: `mutation { issueToken(input: {name: "x", expiresAt: "${secret}"}) { secret } }` }), {
      'content-type': 'application/json',
      authorization: `Bearer ${ROOT_SECRET}`,
    });
    const raw = await response.text();
    expect(raw).not.toContain('NotADateButASecret');
    const { errors } = JSON.parse(raw) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(errors[0].message).toMatch(/DateTime cannot represent this value; expected an RFC 3339 date-time string/);
  });

  it('the same value as a variable is not echoed either, and names the expected format', async () => {
    const secret = 'klt_NotADateButASecret0123456789';
    const response = await post(
      JSON.stringify({ query: 'mutation($input: IssueTokenInput!) { issueToken(input: $input) { secret } }', variables: { input: { name: 'x', expiresAt: secret } } }),
      { 'content-type': 'application/json', authorization: `Bearer ${ROOT_SECRET}` },
    );
    const raw = await response.text();
    expect(raw).not.toContain('NotADateButASecret');
    expect(raw).toMatch(/expected an RFC 3339 date-time string/);
  });

  it('a POST without a content type is refused with a message that names what to send, whole', async () => {
    const response = await post(JSON.stringify({ query: '{ viewer { id } }' }), { authorization: `Bearer ${ROOT_SECRET}` });
    expect(response.status).toBe(400);
    const { errors } = (await response.json()) as { errors: Array<{ message: string }> };
    expect(errors[0].message).toContain('Content-Type: application/json');
    expect(errors[0].message).toContain('apollo-require-preflight');
    expect(errors[0].message.endsWith('…')).toBe(false);
  });
});

describe('the public URL of a gateway listening on every interface', () => {
  const fleet = new GatewayFleet('first-hour');
  afterAll(() => fleet.stop());

  it('HOST=0.0.0.0 without KEYLEDGER_PUBLIC_URL: the process refuses to start and names the variable', async () => {
    await expect(fleet.start(fleet.tempDir(), { HOST: '0.0.0.0' })).rejects.toThrow(/KEYLEDGER_PUBLIC_URL is required when HOST is 0\.0\.0\.0/);
  });

  it('HOST=0.0.0.0 with KEYLEDGER_PUBLIC_URL: the issuer and every discovery URL use it', async () => {
    const gateway = await fleet.start(fleet.tempDir(), { HOST: '0.0.0.0', KEYLEDGER_PUBLIC_URL: 'http://localhost:4000' });
    const port = new URL(gateway.url).port;
    const metadata = (await (await fetch(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.issuer).toBe('http://localhost:4000');
    const urls = Object.values(metadata).filter((value): value is string => typeof value === 'string' && value.startsWith('http'));
    expect(urls.length).toBeGreaterThan(2);
    for (const url of urls) expect(url).toMatch(/^http:\/\/localhost:4000(\/|$)/);
  });
});
