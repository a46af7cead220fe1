import { Role } from '../../src/domain/access/roles';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { postForm, VERIFY_PARTNER_ACCESS_TOKEN } from '../helpers/partner-client';
import { SubscriberClient } from '../helpers/subscriptions';
import { jwtWithHeader, NO_RATE_LIMITS, TENANT_A } from './fixtures';

/** Headers that decode as JSON but are no usable JOSE header, several shaped like a partner access token's. */
const MALFORMED_HEADERS: Record<string, unknown> = {
  'kid: true': { alg: 'ES256', typ: 'at+jwt', kid: true },
  'kid: an object': { alg: 'ES256', typ: 'at+jwt', kid: { id: 'x' } },
  'kid: a number': { alg: 'ES256', typ: 'at+jwt', kid: 7 },
  'kid: an array': { alg: 'HS256', kid: ['tok_abc'] },
  'alg: a number': { alg: 256, typ: 'at+jwt', kid: 'k' },
  'typ: an object': { alg: 'ES256', typ: { media: 'at+jwt' }, kid: 'k' },
  'crit: a string': { alg: 'HS256', kid: 'tok_abc', crit: 'exp' },
  'an empty header': {},
  'null': null,
};

const STACK = /"stack"|\bat [A-Za-z.<>]+ \(|\.ts:\d+/;
const AUTH_FAILURES_PER_MINUTE = 5;

/**
 * A JWT-shaped credential whose header has the wrong types is MALFORMED through every door,
 * counts as a refused credential, and never reaches a lookup that could fail on it.
 */
describe('JWTs with malformed headers', () => {
  let gw: TestGateway;
  let reader: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { ...NO_RATE_LIMITS, KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES_PER_MINUTE) } });
    reader = (await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: TENANT_A, roles: [Role.tokensRead] })).secret;
  }, 60_000);
  afterAll(async () => gw?.stop());

  it.each(Object.entries(MALFORMED_HEADERS))('%s: MALFORMED to verifyToken and verifyPartnerAccessToken, inactive to introspection', async (_name, header) => {
    const token = jwtWithHeader(header);
    const verified = await graphql(gw.url, VERIFY_TOKEN, { token }, reader);
    const partner = await graphql(gw.url, VERIFY_PARTNER_ACCESS_TOKEN, { token, tenantId: TENANT_A, subTenantId: 'branch-a' }, reader);
    const introspected = await postForm(gw.url, '/oauth/introspect', { token }, { authorization: `Bearer ${reader}` });
    expect({
      verifyToken: verified.data?.verifyToken.code ?? errorCode(verified),
      verifyPartnerAccessToken: partner.data?.verifyPartnerAccessToken.code ?? errorCode(partner),
      introspection: [introspected.status, introspected.body],
    }).toEqual({ verifyToken: 'MALFORMED', verifyPartnerAccessToken: 'MALFORMED', introspection: [200, { active: false }] });
  });

  it('nothing of the above was logged as an error of the gateway, or with a stack', () => {
    const lines = gw.logs().split('\n').filter((line) => line.trim().length > 0);
    expect(lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50)).toEqual([]);
    expect(lines.filter((line) => STACK.test(line))).toEqual([]);
  });

  // Last: it spends the address's budget, one refusal per door.
  it('as a bearer: 401 each time, counted against the address like any refused credential', async () => {
    const bearer = jwtWithHeader(MALFORMED_HEADERS['kid: true']);
    const refusals: Array<string | number | undefined> = [errorCode(await graphql(gw.url, '{ viewer { id } }', {}, bearer))];
    refusals.push((await fetch(`${gw.url}/audit/export`, { headers: { authorization: `Bearer ${bearer}` } })).status);
    refusals.push((await postForm(gw.url, '/oauth/introspect', { token: 'x' }, { authorization: `Bearer ${bearer}` })).status);
    refusals.push((await fetch(`${gw.url}/v2/apps/${TENANT_A}/integrations/int-1/keys`, { headers: { authorization: `Bearer ${bearer}` } })).status);
    const subscriber = new SubscriberClient(gw.url, bearer);
    try {
      subscriber.subscribe();
      refusals.push((await subscriber.closed()).code);
    } finally {
      await subscriber.dispose();
    }
    expect(refusals).toEqual(['UNAUTHENTICATED', 401, 401, 401, 4401]);
    // The budget is spent: even a valid credential from this address is turned away now.
    expect(errorCode(await graphql(gw.url, '{ viewer { id } }', {}, reader))).toBe('RATE_LIMITED');
  });
});
