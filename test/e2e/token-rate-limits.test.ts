import { issueToken, ROOT_SECRET, settledHeadPosition, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql } from '../helpers/graphql-client';

const METERED = `query Verify($token: String!, $cost: Int, $rateLimits: [RateLimitUseInput!]) {
  verifyToken(token: $token, cost: $cost, rateLimits: $rateLimits) { valid code remaining rateLimits { name limit remaining resetAt exceeded } }
}`;
const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id rateLimits { name limit durationSeconds } } }`;
const ISSUE = `mutation Issue($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id rateLimits { name limit durationSeconds } } } }`;
const HOUR = 3600;

describe('rate limits of a token, counted at verification', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.stop();
  });

  const verify = (token: string, variables: Record<string, unknown> = {}, bearer = ROOT_SECRET) =>
    graphql(gw.url, METERED, { token, ...variables }, bearer);
  const codes = async (token: string, times: number, variables: Record<string, unknown> = {}) => {
    const answers: string[] = [];
    for (let i = 0; i < times; i++) answers.push((await verify(token, variables)).data!.verifyToken.code);
    return answers;
  };

  it('every limit counts each verification by default; past one, RATE_LIMITED, and the refused verification uses nothing', async () => {
    const limited = await issueToken(gw.url, ROOT_SECRET, {
      name: 'limited',
      tenantId: 'acme',
      rateLimits: [
        { name: 'burst', limit: 2, durationSeconds: HOUR },
        { name: 'hourly', limit: 100, durationSeconds: HOUR },
      ],
    });
    const first = (await verify(limited.secret)).data!.verifyToken;
    expect(first).toMatchObject({ valid: true, code: 'VALID', remaining: null });
    expect(first.rateLimits.map(({ resetAt, ...rest }: any) => rest)).toEqual([
      { name: 'burst', limit: 2, remaining: 1, exceeded: false },
      { name: 'hourly', limit: 100, remaining: 99, exceeded: false },
    ]);
    const resetAt = Date.parse(first.rateLimits[0].resetAt);
    expect(resetAt).toBeGreaterThan(Date.now());
    expect(resetAt).toBeLessThanOrEqual(Date.now() + HOUR * 1000);

    expect((await verify(limited.secret)).data!.verifyToken.code).toBe('VALID');
    const refused = (await verify(limited.secret)).data!.verifyToken;
    expect(refused).toMatchObject({ valid: false, code: 'RATE_LIMITED' });
    expect(refused.rateLimits.map(({ resetAt: _, ...rest }: any) => rest)).toEqual([
      { name: 'burst', limit: 2, remaining: 0, exceeded: true },
      // Given back: a refused verification is not counted against the other limits.
      { name: 'hourly', limit: 100, remaining: 98, exceeded: false },
    ]);
  });

  it('a verification may name the limits it is counted against, and a cost in each; 0 only checks', async () => {
    const limited = await issueToken(gw.url, ROOT_SECRET, {
      name: 'named',
      tenantId: 'acme',
      rateLimits: [
        { name: 'reads', limit: 10, durationSeconds: HOUR },
        { name: 'writes', limit: 3, durationSeconds: HOUR },
      ],
    });
    const writes = (await verify(limited.secret, { rateLimits: [{ name: 'writes', cost: 2 }] })).data!.verifyToken;
    expect(writes.rateLimits).toEqual([expect.objectContaining({ name: 'writes', remaining: 1, exceeded: false })]);
    expect(await codes(limited.secret, 1, { rateLimits: [{ name: 'writes', cost: 2 }] })).toEqual(['RATE_LIMITED']);
    expect((await verify(limited.secret, { rateLimits: [{ name: 'writes', cost: 0 }] })).data!.verifyToken).toMatchObject({
      code: 'VALID',
      rateLimits: [expect.objectContaining({ name: 'writes', remaining: 1, exceeded: false })],
    });
    expect(await codes(limited.secret, 2, { rateLimits: [{ name: 'writes' }] })).toEqual(['VALID', 'RATE_LIMITED']);
    expect((await verify(limited.secret, { rateLimits: [{ name: 'writes', cost: 0 }] })).data!.verifyToken.code).toBe('RATE_LIMITED');
    expect(await codes(limited.secret, 1, { rateLimits: [{ name: 'reads' }] })).toEqual(['VALID']);
  });

  it('rate limits come before credits: a rate-limited verification spends no credit', async () => {
    const both = await issueToken(gw.url, ROOT_SECRET, {
      name: 'both',
      tenantId: 'acme',
      credits: { remaining: 10 },
      rateLimits: [{ name: 'burst', limit: 1, durationSeconds: HOUR }],
    });
    expect((await verify(both.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 9 });
    const spends = async () => (await gw.gateway.store.readStream(`token-credits-${both.id}`)).length;
    expect(await spends()).toBe(1);
    expect((await verify(both.secret)).data!.verifyToken).toMatchObject({ code: 'RATE_LIMITED', remaining: null });
    expect(await spends()).toBe(1);
  });

  it('updateToken replaces the list; [] removes every limit; an unchanged list records nothing', async () => {
    const limited = await issueToken(gw.url, ROOT_SECRET, { name: 'changed', tenantId: 'acme', rateLimits: [{ name: 'burst', limit: 1, durationSeconds: HOUR }] });
    expect(await codes(limited.secret, 2)).toEqual(['VALID', 'RATE_LIMITED']);
    const same = await settledHeadPosition(gw.gateway);
    await graphql(gw.url, UPDATE, { input: { id: limited.id, rateLimits: [{ name: 'burst', limit: 1, durationSeconds: HOUR }] } }, ROOT_SECRET);
    expect(await settledHeadPosition(gw.gateway)).toBe(same);
    const raised = await graphql(gw.url, UPDATE, { input: { id: limited.id, rateLimits: [{ name: 'burst', limit: 5, durationSeconds: HOUR }] } }, ROOT_SECRET);
    expect(raised.data!.updateToken.rateLimits).toEqual([{ name: 'burst', limit: 5, durationSeconds: HOUR }]);
    expect((await verify(limited.secret)).data!.verifyToken.code).toBe('VALID');
    const removed = await graphql(gw.url, UPDATE, { input: { id: limited.id, rateLimits: [] } }, ROOT_SECRET);
    expect(removed.data!.updateToken.rateLimits).toEqual([]);
    expect((await verify(limited.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', rateLimits: [] });
  });

  it('bad limits and bad requests are refused with BAD_USER_INPUT', async () => {
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ name: `l${i}`, limit: 1, durationSeconds: 1 }));
    for (const rateLimits of [
      [{ name: 'x', limit: 0, durationSeconds: 1 }],
      [{ name: 'x', limit: 1, durationSeconds: 0 }],
      [{ name: 'x', limit: 1, durationSeconds: 7 * 24 * 3600 + 1 }],
      [{ name: '', limit: 1, durationSeconds: 1 }],
      [{ name: 'bad name', limit: 1, durationSeconds: 1 }],
      [
        { name: 'x', limit: 1, durationSeconds: 1 },
        { name: 'x', limit: 2, durationSeconds: 1 },
      ],
      tooMany,
    ]) {
      const issued = await graphql(gw.url, ISSUE, { input: { name: 'bad', tenantId: 'acme', rateLimits } }, ROOT_SECRET);
      expect(errorCode(issued)).toBe('BAD_USER_INPUT');
    }
    const limited = await issueToken(gw.url, ROOT_SECRET, { name: 'bad requests', tenantId: 'acme', rateLimits: [{ name: 'burst', limit: 5, durationSeconds: HOUR }] });
    const plain = await issueToken(gw.url, ROOT_SECRET, { name: 'plain', tenantId: 'acme' });
    for (const [secret, rateLimits] of [
      [limited.secret, [{ name: 'burst', cost: -1 }]],
      [limited.secret, [{ name: 'nope' }]],
      [limited.secret, [{ name: 'burst' }, { name: 'burst' }]],
      [plain.secret, [{ name: 'burst' }]],
    ] as const) {
      expect(errorCode(await verify(secret, { rateLimits }))).toBe('BAD_USER_INPUT');
    }
    expect((await verify(limited.secret)).data!.verifyToken.rateLimits[0]).toMatchObject({ remaining: 4 });
  });

  it('security: another tenant’s token is NOT_FOUND and not counted; limits change only with tokens:write in the tenant', async () => {
    const limited = await issueToken(gw.url, ROOT_SECRET, { name: 'victim', tenantId: 'acme', rateLimits: [{ name: 'burst', limit: 2, durationSeconds: HOUR }] });
    const otherVerifier = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: 'globex', roles: ['keyledger:tokens:read'] });
    for (let i = 0; i < 3; i++) {
      expect((await verify(limited.secret, {}, otherVerifier.secret)).data!.verifyToken).toMatchObject({ code: 'NOT_FOUND', rateLimits: [] });
    }
    const otherWriter = await issueToken(gw.url, ROOT_SECRET, { name: 'other writer', tenantId: 'globex', roles: ['keyledger:tokens:write'] });
    const lifted = { input: { id: limited.id, rateLimits: [] } };
    expect(errorCode(await graphql(gw.url, UPDATE, lifted, otherWriter.secret))).toBe('NOT_FOUND');
    const verifier = await issueToken(gw.url, ROOT_SECRET, { name: 'verifier', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
    expect(errorCode(await graphql(gw.url, UPDATE, lifted, verifier.secret))).toBe('FORBIDDEN');
    // The verifier can spend points, never give them back or raise the limit.
    expect(errorCode(await verify(limited.secret, { rateLimits: [{ name: 'burst', cost: -2 }] }, verifier.secret))).toBe('BAD_USER_INPUT');
    expect((await verify(limited.secret, {}, verifier.secret)).data!.verifyToken.rateLimits[0]).toMatchObject({ remaining: 1 });
  });
});
