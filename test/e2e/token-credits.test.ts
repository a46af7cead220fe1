import { issueToken, ROOT_SECRET, settledHeadPosition, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql } from '../helpers/graphql-client';
import { TestClock } from '../helpers/test-clock';

const METERED = `query Verify($token: String!, $requiredRoles: [String!], $cost: Int) {
  verifyToken(token: $token, requiredRoles: $requiredRoles, cost: $cost) { valid code remaining token { id } }
}`;
const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { id credits { remaining refill { amount interval } } } }`;
const TOKEN = `query Token($id: ID!) { token(id: $id) { id credits { remaining refill { amount interval } refillsAt } } }`;

/** The types of the events appended after `position`, read from the log. */
async function typesAppendedSince(gw: TestGateway, position: bigint | null): Promise<string[]> {
  const subscription = gw.gateway.store.subscribe({ fromPosition: position });
  const types: string[] = [];
  for await (const message of subscription) {
    if (message.type === 'events') types.push(...message.events.map((event) => event.type));
    if (message.type === 'caughtUp') break;
  }
  await subscription.close();
  return types;
}

describe('credits: verifications spend them, exactly', () => {
  let gw: TestGateway;
  const clock = new TestClock(Date.parse('2026-12-02T10:00:00Z'));
  /** Forward only, as time goes. */
  const setClock = (iso: string) => clock.advance(Date.parse(iso) - clock.now().getTime());

  beforeAll(async () => {
    gw = await startTestGateway({ clock });
  });
  afterAll(async () => {
    await gw.stop();
  });

  const verify = (token: string, variables: Record<string, unknown> = {}, bearer = ROOT_SECRET) =>
    graphql(gw.url, METERED, { token, ...variables }, bearer);

  it('each verification spends its cost; when too few remain it answers USAGE_EXCEEDED and spends nothing', async () => {
    const metered = await issueToken(gw.url, ROOT_SECRET, { name: 'metered', tenantId: 'acme', credits: { remaining: 5 } });
    expect((await verify(metered.secret)).data!.verifyToken).toEqual({ valid: true, code: 'VALID', remaining: 4, token: { id: metered.id } });
    expect((await verify(metered.secret, { cost: 3 })).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 1 });
    expect((await verify(metered.secret, { cost: 2 })).data!.verifyToken).toEqual({
      valid: false,
      code: 'USAGE_EXCEEDED',
      remaining: 1,
      token: { id: metered.id },
    });
    expect((await verify(metered.secret, { cost: 0 })).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 1 });
    expect((await verify(metered.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 0 });
    // A spent token is refused even a check that costs nothing.
    expect((await verify(metered.secret, { cost: 0 })).data!.verifyToken).toMatchObject({ code: 'USAGE_EXCEEDED', remaining: 0 });
    expect((await graphql(gw.url, TOKEN, { id: metered.id }, ROOT_SECRET)).data!.token.credits).toEqual({ remaining: 0, refill: null, refillsAt: null });
  });

  it('a token without credits answers remaining null and spends nothing; required roles are checked before credits', async () => {
    const plain = await issueToken(gw.url, ROOT_SECRET, { name: 'plain', tenantId: 'acme' });
    const before = await settledHeadPosition(gw.gateway);
    for (let i = 0; i < 3; i++) expect((await verify(plain.secret, { cost: 5 })).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: null });
    // Still a read: the only records are the outcome counts, appended later in batches.
    await settledHeadPosition(gw.gateway);
    const appended = await typesAppendedSince(gw, before);
    expect(appended.length).toBeGreaterThan(0);
    expect(appended.filter((type) => type !== 'TokenVerificationsCounted')).toEqual([]);
    expect((await graphql(gw.url, TOKEN, { id: plain.id }, ROOT_SECRET)).data!.token.credits).toBeNull();

    const metered = await issueToken(gw.url, ROOT_SECRET, { name: 'roles first', tenantId: 'acme', roles: ['orders:read'], credits: { remaining: 1 } });
    expect((await verify(metered.secret, { requiredRoles: ['orders:write'] })).data!.verifyToken).toMatchObject({
      code: 'INSUFFICIENT_ROLES',
      remaining: null,
    });
    expect((await verify(metered.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 0 });
  });

  it('credits refill at the UTC day boundary, to the refill amount; updateToken sets the balance again', async () => {
    setClock('2026-12-02T23:59:00Z');
    const daily = await issueToken(gw.url, ROOT_SECRET, {
      name: 'daily',
      tenantId: 'acme',
      credits: { remaining: 2, refill: { amount: 3, interval: 'DAILY' } },
    });
    expect((await verify(daily.secret, { cost: 2 })).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 0 });
    expect((await verify(daily.secret)).data!.verifyToken).toMatchObject({ code: 'USAGE_EXCEEDED' });
    expect((await graphql(gw.url, TOKEN, { id: daily.id }, ROOT_SECRET)).data!.token.credits).toEqual({
      remaining: 0,
      refill: { amount: 3, interval: 'DAILY' },
      refillsAt: '2026-12-03T00:00:00.000Z',
    });

    setClock('2026-12-03T00:00:01Z');
    expect((await verify(daily.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 2 });

    const updated = await graphql(gw.url, UPDATE, { input: { id: daily.id, credits: { remaining: 10 } } }, ROOT_SECRET);
    expect(updated.data!.updateToken.credits).toEqual({ remaining: 10, refill: null });
    expect((await verify(daily.secret, { cost: 4 })).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 6 });
    // Set to the same numbers again: the balance is set again.
    await graphql(gw.url, UPDATE, { input: { id: daily.id, credits: { remaining: 10 } } }, ROOT_SECRET);
    expect((await verify(daily.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 9 });

    const removed = await graphql(gw.url, UPDATE, { input: { id: daily.id, credits: null } }, ROOT_SECRET);
    expect(removed.data!.updateToken.credits).toBeNull();
    expect((await verify(daily.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: null });
  });

  it('monthly credits refill at the UTC month boundary', async () => {
    setClock('2026-12-31T12:00:00Z');
    const monthly = await issueToken(gw.url, ROOT_SECRET, {
      name: 'monthly',
      tenantId: 'acme',
      credits: { remaining: 1, refill: { amount: 100, interval: 'MONTHLY' } },
    });
    expect((await verify(monthly.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 0 });
    setClock('2027-01-01T00:00:00Z');
    expect((await verify(monthly.secret, { cost: 10 })).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 90 });
  });

  it('bad costs and bad credits are refused with BAD_USER_INPUT, recording nothing', async () => {
    const metered = await issueToken(gw.url, ROOT_SECRET, { name: 'bad input', tenantId: 'acme', credits: { remaining: 3 } });
    for (const cost of [-1, 1_000_001]) {
      const refused = await verify(metered.secret, { cost });
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors![0].message).toMatch(/cost must be a whole number from 0 to 1000000/);
    }
    for (const credits of [{ remaining: -1 }, { remaining: 1_000_000_001 }, { remaining: 1, refill: { amount: 0, interval: 'DAILY' } }]) {
      const issued = await graphql(gw.url, `mutation I($input: IssueTokenInput!) { issueToken(input: $input) { secret } }`, {
        input: { name: 'bad', tenantId: 'acme', credits },
      }, ROOT_SECRET);
      expect(errorCode(issued)).toBe('BAD_USER_INPUT');
      const updated = await graphql(gw.url, UPDATE, { input: { id: metered.id, credits } }, ROOT_SECRET);
      expect(errorCode(updated)).toBe('BAD_USER_INPUT');
    }
    const interval = await graphql(gw.url, UPDATE, { input: { id: metered.id, credits: { remaining: 1, refill: { amount: 1, interval: 'WEEKLY' } } } }, ROOT_SECRET);
    expect(interval.errors).toBeDefined();
    expect((await verify(metered.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 2 });
  });

  it('security: another tenant’s token reads as NOT_FOUND and spends nothing; a caller without tokens:write cannot set credits', async () => {
    const metered = await issueToken(gw.url, ROOT_SECRET, { name: 'victim', tenantId: 'acme', credits: { remaining: 2 } });
    const otherVerifier = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: 'globex', roles: ['keyledger:tokens:read'] });
    expect((await verify(metered.secret, {}, otherVerifier.secret)).data!.verifyToken).toEqual({
      valid: false,
      code: 'NOT_FOUND',
      remaining: null,
      token: null,
    });
    const otherWriter = await issueToken(gw.url, ROOT_SECRET, { name: 'other writer', tenantId: 'globex', roles: ['keyledger:tokens:write'] });
    expect(errorCode(await graphql(gw.url, UPDATE, { input: { id: metered.id, credits: { remaining: 1000 } } }, otherWriter.secret))).toBe('NOT_FOUND');

    const verifier = await issueToken(gw.url, ROOT_SECRET, { name: 'verifier', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
    expect(errorCode(await graphql(gw.url, UPDATE, { input: { id: metered.id, credits: { remaining: 1000 } } }, verifier.secret))).toBe('FORBIDDEN');
    const noRole = await issueToken(gw.url, ROOT_SECRET, { name: 'no role', tenantId: 'acme' });
    expect(errorCode(await verify(metered.secret, {}, noRole.secret))).toBe('FORBIDDEN');

    expect((await verify(metered.secret, {}, verifier.secret)).data!.verifyToken).toMatchObject({ code: 'VALID', remaining: 1 });
  });
});
