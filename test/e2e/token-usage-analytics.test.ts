import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { TestClock } from '../helpers/test-clock';

const VERIFY = `query Verify($token: String!, $requiredRoles: [String!]) { verifyToken(token: $token, requiredRoles: $requiredRoles) { code } }`;
const USAGE = `query Usage($id: ID, $externalId: String, $tenantId: String, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity) {
  tokenUsage(id: $id, externalId: $externalId, tenantId: $tenantId, from: $from, to: $to, granularity: $granularity) { start total outcomes { code count } }
}`;
const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id externalId } }`;
const HOUR = 3600;

describe('tokenUsage: verification outcomes over time', () => {
  let gw: TestGateway;
  const clock = new TestClock(Date.parse('2026-12-02T10:15:00Z'));

  beforeAll(async () => {
    gw = await startTestGateway({ clock });
  });
  afterAll(async () => {
    await gw.stop();
  });

  const verify = async (secret: string, requiredRoles: string[] = [], bearer = ROOT_SECRET) =>
    (await graphql(gw.url, VERIFY, { token: secret, requiredRoles }, bearer)).data!.verifyToken.code as string;
  const usage = (variables: Record<string, unknown>, bearer = ROOT_SECRET) => graphql(gw.url, USAGE, variables, bearer);

  it('counts each outcome per hour and per day, once the gateway has recorded them', async () => {
    const token = await issueToken(gw.url, ROOT_SECRET, {
      name: 'watched',
      tenantId: 'acme',
      roles: ['orders:read'],
      credits: { remaining: 2 },
      rateLimits: [{ name: 'burst', limit: 3, durationSeconds: HOUR }],
    });
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) codes.push(await verify(token.secret));
    expect(codes).toEqual(['VALID', 'VALID', 'USAGE_EXCEEDED', 'RATE_LIMITED']);
    expect(await verify(token.secret, ['orders:write'])).toBe('INSUFFICIENT_ROLES');
    clock.advance(HOUR * 1000);
    await graphql(gw.url, REVOKE_TOKEN, { input: { id: token.id } }, ROOT_SECRET);
    expect(await verify(token.secret)).toBe('REVOKED');
    await gw.gateway.verificationCounts.flush();

    const range = { id: token.id, from: '2026-12-02T00:00:00Z', to: '2026-12-03T00:00:00Z' };
    let hours: any[] = [];
    await eventually(async () => {
      hours = (await usage(range)).data!.tokenUsage;
      return hours.reduce((sum, bucket) => sum + bucket.total, 0) === 6;
    });
    expect(hours).toEqual([
      {
        start: '2026-12-02T10:00:00.000Z',
        total: 5,
        outcomes: [
          { code: 'INSUFFICIENT_ROLES', count: 1 },
          { code: 'RATE_LIMITED', count: 1 },
          { code: 'USAGE_EXCEEDED', count: 1 },
          { code: 'VALID', count: 2 },
        ],
      },
      { start: '2026-12-02T11:00:00.000Z', total: 1, outcomes: [{ code: 'REVOKED', count: 1 }] },
    ]);
    expect((await usage({ ...range, granularity: 'DAY' })).data!.tokenUsage).toEqual([
      {
        start: '2026-12-02T00:00:00.000Z',
        total: 6,
        outcomes: [
          { code: 'INSUFFICIENT_ROLES', count: 1 },
          { code: 'RATE_LIMITED', count: 1 },
          { code: 'REVOKED', count: 1 },
          { code: 'USAGE_EXCEEDED', count: 1 },
          { code: 'VALID', count: 2 },
        ],
      },
    ]);
    // A range is widened to whole buckets, and ends before `to`.
    expect((await usage({ id: token.id, from: '2026-12-02T10:59:00Z', to: '2026-12-02T11:00:00Z' })).data!.tokenUsage).toEqual([hours[0]]);
  });

  it('is tenant-scoped and needs keyledger:tokens:read; bad ranges are BAD_USER_INPUT', async () => {
    const token = await issueToken(gw.url, ROOT_SECRET, { name: 'private', tenantId: 'acme' });
    const range = { id: token.id, from: '2026-12-01T00:00:00Z', to: '2026-12-03T00:00:00Z' };
    const other = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: 'globex', roles: ['keyledger:tokens:read'] });
    expect(errorCode(await usage(range, other.secret))).toBe('NOT_FOUND');
    const noRole = await issueToken(gw.url, ROOT_SECRET, { name: 'no role', tenantId: 'acme' });
    expect(errorCode(await usage(range, noRole.secret))).toBe('FORBIDDEN');
    const reader = await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
    expect((await usage(range, reader.secret)).data!.tokenUsage).toEqual([]);

    // Another tenant's verifications of the token are NOT_FOUND and counted nowhere.
    expect(await verify(token.secret, [], other.secret)).toBe('NOT_FOUND');
    await gw.gateway.verificationCounts.flush();
    for (const bad of [
      { ...range, from: range.to, to: range.from },
      { ...range, from: '2026-10-01T00:00:00Z' },
      { ...range, id: null },
      { ...range, externalId: 'customer-1' },
      { ...range, tenantId: 'acme' },
    ]) {
      expect(errorCode(await usage(bad))).toBe('BAD_USER_INPUT');
    }
    expect((await usage({ ...range, from: '2026-01-01T00:00:00Z', granularity: 'DAY' })).data!.tokenUsage).toEqual([]);
  });

  it("adds up by externalId the tokens of the caller's tenant that hold it now", async () => {
    const acme = (name: string, externalId: string, roles: string[] = []) => issueToken(gw.url, ROOT_SECRET, { name, tenantId: 'acme', externalId, roles });
    const first = await acme('first key', 'customer-1', ['orders:read']);
    const second = await acme('second key', 'customer-1');
    const moved = await acme('moved key', 'customer-1');
    const otherCustomer = await acme('other customer', 'customer-2');
    const foreign = await issueToken(gw.url, ROOT_SECRET, { name: 'same customer id elsewhere', tenantId: 'globex', externalId: 'customer-1' });
    const hourMs = HOUR * 1000;
    const start = Math.floor(clock.now().getTime() / hourMs) * hourMs;
    const at = new Date(start).toISOString();

    expect(await verify(first.secret)).toBe('VALID');
    expect(await verify(first.secret)).toBe('VALID');
    expect(await verify(second.secret, ['orders:read'])).toBe('INSUFFICIENT_ROLES');
    expect(await verify(moved.secret)).toBe('VALID');
    expect(await verify(otherCustomer.secret)).toBe('VALID');
    expect(await verify(foreign.secret)).toBe('VALID');
    expect(await verify(foreign.secret)).toBe('VALID');
    expect(await verify(foreign.secret)).toBe('VALID');
    await gw.gateway.verificationCounts.flush();
    const update = await graphql(gw.url, UPDATE, { input: { id: moved.id, externalId: 'customer-2' } }, ROOT_SECRET);
    expect(update.data!.updateToken.externalId).toBe('customer-2');

    const range = { from: at, to: new Date(start + hourMs).toISOString() };
    const reader = await acme('acme reader', 'ops', ['keyledger:tokens:read']);
    const customer1 = { start: at, total: 3, outcomes: [{ code: 'INSUFFICIENT_ROLES', count: 1 }, { code: 'VALID', count: 2 }] };
    let buckets: any[] = [];
    await eventually(async () => {
      buckets = (await usage({ ...range, externalId: 'customer-2' }, reader.secret)).data!.tokenUsage;
      return buckets[0]?.total === 2;
    });
    // The moved key's verifications follow it to its identity now.
    expect(buckets).toEqual([{ start: at, total: 2, outcomes: [{ code: 'VALID', count: 2 }] }]);
    expect((await usage({ ...range, externalId: 'customer-1' }, reader.secret)).data!.tokenUsage).toEqual([customer1]);
    expect((await usage({ ...range, externalId: 'customer-1', tenantId: 'acme' }, ROOT_SECRET)).data!.tokenUsage).toEqual([customer1]);
    expect((await usage({ ...range, externalId: 'customer-1', granularity: 'DAY' }, reader.secret)).data!.tokenUsage).toEqual([
      { ...customer1, start: `${at.slice(0, 10)}T00:00:00.000Z` },
    ]);
    expect((await usage({ ...range, externalId: 'nobody' }, reader.secret)).data!.tokenUsage).toEqual([]);

    // Another tenant's customer of the same externalId is its own; acme's is out of its reach.
    const globexReader = await issueToken(gw.url, ROOT_SECRET, { name: 'globex reader', tenantId: 'globex', roles: ['keyledger:tokens:read'] });
    expect((await usage({ ...range, externalId: 'customer-1' }, globexReader.secret)).data!.tokenUsage).toEqual([
      { start: at, total: 3, outcomes: [{ code: 'VALID', count: 3 }] },
    ]);
    expect(errorCode(await usage({ ...range, externalId: 'customer-1', tenantId: 'acme' }, globexReader.secret))).toBe('FORBIDDEN');
    expect(errorCode(await usage({ ...range, externalId: 'customer-1' }, first.secret))).toBe('FORBIDDEN');
    for (const bad of [{ ...range, externalId: '' }, { ...range, externalId: ' customer-1' }, { ...range, externalId: 'customer-1', to: range.from }]) {
      expect(errorCode(await usage(bad, reader.secret))).toBe('BAD_USER_INPUT');
    }
  });
});
