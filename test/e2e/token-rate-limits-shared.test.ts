import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql } from '../helpers/graphql-client';

const METERED = `query Verify($token: String!, $rateLimits: [RateLimitUseInput!]) {
  verifyToken(token: $token, rateLimits: $rateLimits) { code rateLimits { name limit remaining exceeded } }
}`;
const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id externalId rateLimits { name limit durationSeconds shared } } }`;
const ISSUE = `mutation Issue($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id rateLimits { name limit durationSeconds shared } } } }`;
const TOKENS = `query Tokens($filter: TokenFilter) { tokens(first: 100, filter: $filter) { totalCount } }`;
const HOUR = 3600;

describe('rate limits shared by the tokens of an identity', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  const verify = async (token: string) => (await graphql(gw.url, METERED, { token }, ROOT_SECRET)).data!.verifyToken;
  const code = async (token: string) => (await verify(token)).code as string;
  const holder = async (tenantId: string, externalId: string, limit: Record<string, unknown>) => {
    const issued = await graphql(gw.url, ISSUE, { input: { name: `key of ${externalId}`, tenantId, externalId, rateLimits: [limit] } }, ROOT_SECRET);
    const { secret, token } = issued.data!.issueToken;
    return { secret: secret as string, id: token.id as string, token };
  };
  const perCustomer = { name: 'per-customer', limit: 3, durationSeconds: HOUR, shared: true };

  it('two tokens of one externalId exhaust one shared limit together; other identities and tenants keep their own', async () => {
    const first = await holder('acme', 'customer-1', perCustomer);
    expect(first.token.rateLimits).toEqual([{ name: 'per-customer', limit: 3, durationSeconds: HOUR, shared: true }]);
    const second = await holder('acme', 'customer-1', perCustomer);
    const otherCustomer = await holder('acme', 'customer-2', perCustomer);
    const otherTenant = await holder('globex', 'customer-1', perCustomer);
    const unshared = await holder('acme', 'customer-1', { ...perCustomer, shared: false });

    expect((await verify(first.secret)).rateLimits).toEqual([{ name: 'per-customer', limit: 3, remaining: 2, exceeded: false }]);
    expect((await verify(second.secret)).rateLimits).toEqual([{ name: 'per-customer', limit: 3, remaining: 1, exceeded: false }]);
    expect(await code(first.secret)).toBe('VALID');
    expect(await verify(second.secret)).toEqual({ code: 'RATE_LIMITED', rateLimits: [{ name: 'per-customer', limit: 3, remaining: 0, exceeded: true }] });
    expect(await code(first.secret)).toBe('RATE_LIMITED');

    for (const other of [otherCustomer, otherTenant, unshared]) {
      expect((await verify(other.secret)).rateLimits).toEqual([{ name: 'per-customer', limit: 3, remaining: 2, exceeded: false }]);
    }

    // Moved to another customer, a token counts in that customer's window from then on.
    const moved = await graphql(gw.url, UPDATE, { input: { id: second.id, externalId: 'customer-2' } }, ROOT_SECRET);
    expect(moved.data!.updateToken.externalId).toBe('customer-2');
    expect((await verify(second.secret)).rateLimits).toEqual([{ name: 'per-customer', limit: 3, remaining: 1, exceeded: false }]);
    expect(await code(first.secret)).toBe('RATE_LIMITED');
  });

  it("each token's own declaration decides its verifications, against the points its identity used", async () => {
    const small = await holder('acme', 'customer-3', { name: 'calls', limit: 2, durationSeconds: HOUR, shared: true });
    const large = await holder('acme', 'customer-3', { name: 'calls', limit: 4, durationSeconds: HOUR, shared: true });
    expect([await code(small.secret), await code(small.secret), await code(small.secret)]).toEqual(['VALID', 'VALID', 'RATE_LIMITED']);
    expect((await verify(large.secret)).rateLimits).toEqual([{ name: 'calls', limit: 4, remaining: 1, exceeded: false }]);
    expect([await code(large.secret), await code(large.secret), await code(small.secret)]).toEqual(['VALID', 'RATE_LIMITED', 'RATE_LIMITED']);
  });

  it('a shared limit needs an externalId, at issue and after every update; bad values are BAD_USER_INPUT', async () => {
    const issue = (input: Record<string, unknown>) => graphql(gw.url, ISSUE, { input: { tenantId: 'acme', ...input } }, ROOT_SECRET);
    const update = (input: Record<string, unknown>) => graphql(gw.url, UPDATE, { input }, ROOT_SECRET);
    const refused = await issue({ name: 'shared without identity', rateLimits: [perCustomer] });
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors![0].extensions!.field).toBe('rateLimits.shared');
    expect((await graphql(gw.url, TOKENS, { filter: { tenantId: 'acme', search: 'shared without identity' } }, ROOT_SECRET)).data!.tokens.totalCount).toBe(0);

    const anonymous = await issueToken(gw.url, ROOT_SECRET, { name: 'no identity', tenantId: 'acme', rateLimits: [{ ...perCustomer, shared: false }] });
    expect(errorCode(await update({ id: anonymous.id, rateLimits: [perCustomer] }))).toBe('BAD_USER_INPUT');
    const withIdentity = await update({ id: anonymous.id, externalId: 'customer-4', rateLimits: [perCustomer] });
    expect(withIdentity.data!.updateToken.rateLimits).toEqual([{ name: 'per-customer', limit: 3, durationSeconds: HOUR, shared: true }]);
    expect(errorCode(await update({ id: anonymous.id, externalId: null }))).toBe('BAD_USER_INPUT');
    const unshared = await update({ id: anonymous.id, externalId: null, rateLimits: [{ ...perCustomer, shared: false }] });
    expect(unshared.data!.updateToken).toMatchObject({ externalId: null, rateLimits: [{ name: 'per-customer', limit: 3, durationSeconds: HOUR, shared: false }] });
    expect(errorCode(await issue({ name: 'bad shared', externalId: 'customer-5', rateLimits: [{ ...perCustomer, shared: 'yes' }] }))).toBe('BAD_USER_INPUT');
  });
});
