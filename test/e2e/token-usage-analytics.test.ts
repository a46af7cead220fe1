import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { TestClock } from '../helpers/test-clock';

const VERIFY = `query Verify($token: String!, $requiredRoles: [String!]) { verifyToken(token: $token, requiredRoles: $requiredRoles) { code } }`;
const USAGE = `query Usage($id: ID, $externalId: String, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity) {
  tokenUsage(id: $id, externalId: $externalId, from: $from, to: $to, granularity: $granularity) { start total outcomes { code count } }
}`;
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
      { ...range, id: null, externalId: 'customer-1' },
    ]) {
      expect(errorCode(await usage(bad))).toBe('BAD_USER_INPUT');
    }
    expect((await usage({ ...range, from: '2026-01-01T00:00:00Z', granularity: 'DAY' })).data!.tokenUsage).toEqual([]);
  });
});
