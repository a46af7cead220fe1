import WebSocket from 'ws';
import { graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { TestClock } from '../helpers/test-clock';
import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import {
  metricValue,
  startGatewayWithLimits,
  SubscriberClient,
  TOKEN_REVOKED,
  waitForSubscriptions,
  wsUrl,
  type SubscriptionRecord,
} from '../helpers/subscriptions';

const ROTATE_TOKEN = `mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { secret token { id } } }`;
const PAUSE_TOKEN = `mutation Pause($input: UpdateTokenInput!) { updateToken(input: $input) { id enabled } }`;
const NO_STACK_TRACE = /stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/;

/** Revocation notices over graphql-ws, against a real gateway on a real socket. */
describe('Subscription.tokenRevoked', () => {
  let gw: TestGateway;
  let adminA: string;
  let adminB: string;
  let readerA: string;
  let readerB: string;
  let readerAId: string;
  const clients: SubscriberClient[] = [];
  let openSubscriptions = 0;

  function client(bearer: string | null, connectionParams?: Record<string, unknown>): SubscriberClient {
    const created = new SubscriberClient(gw.url, bearer, connectionParams);
    clients.push(created);
    return created;
  }

  /** Subscribes and waits until the server holds the subscription, so a following revocation reaches it. */
  async function subscribed(subscriber: SubscriberClient, variables: Record<string, unknown> = {}): Promise<SubscriptionRecord> {
    await subscriber.connected();
    const record = subscriber.subscribe(variables);
    openSubscriptions++;
    await waitForSubscriptions(gw.url, openSubscriptions);
    return record;
  }

  async function revoke(bearer: string, id: string, reason?: string): Promise<void> {
    const response = await graphql(gw.url, REVOKE_TOKEN, { input: { id, reason } }, bearer);
    expect(response.errors).toBeUndefined();
  }

  async function throwaway(bearer: string, name: string): Promise<string> {
    return (await issueToken(gw.url, bearer, { name })).id;
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    ({ secret: adminA } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: 'sub-a', roles: ['keyledger:admin'] }));
    ({ secret: adminB } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin b', tenantId: 'sub-b', roles: ['keyledger:admin'] }));
    ({ secret: readerA, id: readerAId } = await issueToken(gw.url, adminA, { name: 'reader a', roles: ['keyledger:tokens:read'] }));
    ({ secret: readerB } = await issueToken(gw.url, adminB, { name: 'reader b', roles: ['keyledger:tokens:read'] }));
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((subscriber) => subscriber.dispose()));
    openSubscriptions = 0;
    // Let the server see the sockets go before the next test counts subscriptions.
    await waitForSubscriptionsToDrain();
  });

  afterAll(async () => gw?.stop());

  async function waitForSubscriptionsToDrain(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      if (/^keyledger_subscriptions 0$/m.test(text)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('subscriptions were not released');
  }

  it('delivers a notice with every field when a token is revoked over HTTP', async () => {
    const subscriber = client(readerA);
    const record = await subscribed(subscriber);
    const { id } = await issueToken(gw.url, adminA, { name: 'to revoke' });
    const viewer = await graphql(gw.url, '{ viewer { id } }', {}, adminA);
    await revoke(adminA, id, 'leaked in a log');

    await subscriber.until(() => record.notices.length === 1);
    const [notice] = record.notices;
    expect(notice).toEqual({
      tokenId: id,
      tenantId: 'sub-a',
      kind: 'REVOKED',
      reason: 'leaked in a log',
      effectiveAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      actor: { type: 'token', id: viewer.data!.viewer.id },
      eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      position: expect.stringMatching(/^\d+$/),
    });
    const token = await graphql(gw.url, 'query T($id: ID!) { token(id: $id) { revokedAt } }', { id }, adminA);
    expect(new Date(notice.effectiveAt).getTime()).toBe(new Date(token.data!.token.revokedAt).getTime());
  });

  it("never sends tenant B's subscriber a notice of tenant A", async () => {
    const subscriberB = client(readerB);
    const recordB = await subscribed(subscriberB);
    const tokenA = await throwaway(adminA, 'a token');
    const tokenB = await throwaway(adminB, 'b token');
    await revoke(adminA, tokenA);
    await revoke(adminB, tokenB);

    // B's own notice comes after A's in the log, so by the time it arrives A's would have too.
    await subscriberB.until(() => recordB.notices.some((notice) => notice.tokenId === tokenB));
    expect(recordB.notices.map((notice) => notice.tokenId)).toEqual([tokenB]);
    expect(recordB.notices.every((notice) => notice.tenantId === 'sub-b')).toBe(true);
  });

  it("refuses a non-root subscriber naming another tenant (FORBIDDEN); its own tenant's id is fine", async () => {
    const subscriber = client(readerB);
    await subscriber.connected();
    const foreign = subscriber.subscribe({ tenantId: 'sub-a' });
    await subscriber.until(() => foreign.ended);
    expect(foreign.notices).toEqual([]);
    expect(foreign.errors.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    expect(JSON.stringify(foreign.raw)).not.toMatch(NO_STACK_TRACE);

    const own = subscriber.subscribe({ tenantId: 'sub-b' });
    openSubscriptions++;
    await waitForSubscriptions(gw.url, openSubscriptions);
    const tokenB = await throwaway(adminB, 'own tenant');
    await revoke(adminB, tokenB);
    await subscriber.until(() => own.notices.length === 1);
    expect(own.notices[0].tokenId).toBe(tokenB);
  });

  it('root hears every tenant without a tenantId, or the one it names', async () => {
    const everything = client(ROOT_SECRET);
    const all = await subscribed(everything);
    const onlyB = await subscribed(everything, { tenantId: 'sub-b' });
    const tokenA = await throwaway(adminA, 'root sees a');
    const tokenB = await throwaway(adminB, 'root sees b');
    await revoke(adminA, tokenA);
    await revoke(adminB, tokenB);
    await everything.until(() => all.notices.length === 2 && onlyB.notices.length === 1);
    expect(all.notices.map((notice) => notice.tokenId)).toEqual([tokenA, tokenB]);
    expect(onlyB.notices.map((notice) => notice.tokenId)).toEqual([tokenB]);
  });

  it('refuses a connection without keyledger:tokens:read with 4403', async () => {
    const { secret } = await issueToken(gw.url, adminA, { name: 'writer only', roles: ['keyledger:connections:read'] });
    const subscriber = client(secret);
    const closed = await subscriber.closed();
    expect(closed.code).toBe(4403);
    expect(closed.reason).toMatch(/keyledger:tokens:read/);
    expect(subscriber.acknowledged).toBe(false);
  });

  it.each([
    ['no connection params', null, {}],
    ['a garbage bearer', null, { authorization: 'Bearer nonsense' }],
    ['a non-Bearer scheme', null, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
    ['a well-formed but unknown token', null, { authorization: 'Bearer klt_000000000000000000000000000000000000000000000' }],
  ])('refuses a connection with %s with 4401', async (_name, bearer, params) => {
    const subscriber = client(bearer, params);
    const closed = await subscriber.closed();
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/^Unauthorized: /);
    expect(subscriber.acknowledged).toBe(false);
  });

  it('tells a client without credentials how to send them', async () => {
    const closed = await client(null, {}).closed();
    expect(closed).toEqual({ code: 4401, reason: 'Unauthorized: Authentication required: send connectionParams { authorization: "Bearer <token>" }' });
  });

  it('refuses a revoked credential at connect with 4401', async () => {
    const { secret, id } = await issueToken(gw.url, adminA, { name: 'revoked first', roles: ['keyledger:tokens:read'] });
    await revoke(adminA, id);
    const closed = await client(secret).closed();
    expect(closed).toEqual({ code: 4401, reason: 'Unauthorized: The credential has been revoked' });
  });

  it('resumes with afterPosition: every missed notice in order, no duplicates, then live ones', async () => {
    const first = client(readerA);
    const before = await subscribed(first);
    const firstToken = await throwaway(adminA, 'seen before disconnect');
    await revoke(adminA, firstToken);
    await first.until(() => before.notices.length === 1);
    const resumeFrom = before.notices[0].position;
    await first.dispose();
    openSubscriptions--;

    const missed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await throwaway(adminA, `missed ${i}`);
      await revoke(adminA, id);
      missed.push(id);
    }
    // Revocations keep coming while the replay runs, so the hand-over from replay to live is exercised.
    const during: string[] = [];
    const second = client(readerA);
    await second.connected();
    const resumed = second.subscribe({ afterPosition: resumeFrom });
    for (let i = 0; i < 5; i++) {
      const id = await throwaway(adminA, `during ${i}`);
      await revoke(adminA, id);
      during.push(id);
    }
    const live = await throwaway(adminA, 'live after resume');
    await revoke(adminA, live);

    const expected = [...missed, ...during, live];
    await second.until(() => resumed.notices.some((notice) => notice.tokenId === live));
    expect(resumed.notices.map((notice) => notice.tokenId)).toEqual(expected);
    const positions = resumed.notices.map((notice) => BigInt(notice.position));
    expect(positions.every((position, i) => position > BigInt(resumeFrom) && (i === 0 || position > positions[i - 1]))).toBe(true);
  });

  it('replays from position 0 every notice of the tenant, in log order', async () => {
    const subscriber = client(readerB);
    await subscriber.connected();
    const replay = subscriber.subscribe({ afterPosition: '0' });
    const marker = await throwaway(adminB, 'marker');
    await revoke(adminB, marker);
    await subscriber.until(() => replay.notices.some((notice) => notice.tokenId === marker));
    expect(replay.notices.length).toBeGreaterThan(1);
    expect(replay.notices.every((notice) => notice.tenantId === 'sub-b')).toBe(true);
    const positions = replay.notices.map((notice) => BigInt(notice.position));
    expect(new Set(positions).size).toBe(positions.length);
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
  });

  it.each(['abc', '-1', '1.5', ' 12', '1'.repeat(40), '99999999999999999999'])(
    'answers afterPosition %j with BAD_USER_INPUT, without a stack trace',
    async (afterPosition) => {
      const subscriber = client(readerA);
      await subscriber.connected();
      const record = subscriber.subscribe({ afterPosition });
      await subscriber.until(() => record.ended);
      expect(record.errors).toHaveLength(1);
      expect(record.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'afterPosition' });
      expect(record.errors[0].message).toMatch(/afterPosition/);
      expect(JSON.stringify(record.raw)).not.toMatch(NO_STACK_TRACE);
      expect(subscriber.closeEvent).toBeNull();
    },
  );

  it('closes the socket with 4403 when the subscriber’s own credential is revoked', async () => {
    const subscriber = client(readerA);
    await subscribed(subscriber);
    await revoke(adminA, readerAId, 'rotating staff');
    const closed = await subscriber.closed();
    expect(closed).toEqual({ code: 4403, reason: 'Forbidden: the credential of this connection was revoked' });
    ({ secret: readerA, id: readerAId } = await issueToken(gw.url, adminA, { name: 'reader a again', roles: ['keyledger:tokens:read'] }));
  });

  it('closes the socket with 4403 when the subscriber’s own credential is disabled, and tells other subscribers with a DISABLED notice', async () => {
    const watcher = client(adminA);
    const watched = await subscribed(watcher);
    const paused = await issueToken(gw.url, adminA, { name: 'paused subscriber', roles: ['keyledger:tokens:read'] });
    const subscriber = client(paused.secret);
    await subscribed(subscriber);
    const response = await graphql(gw.url, PAUSE_TOKEN, { input: { id: paused.id, enabled: false } }, adminA);
    expect(response.errors).toBeUndefined();
    expect(await subscriber.closed()).toEqual({ code: 4403, reason: 'Forbidden: the credential of this connection was disabled' });
    await watcher.until(() => watched.notices.some((notice) => notice.tokenId === paused.id));
    expect(watched.notices.find((notice) => notice.tokenId === paused.id)).toMatchObject({ tenantId: 'sub-a', kind: 'DISABLED', reason: null });

    // Paused, it is refused at connect as a revoked credential is.
    const again = client(paused.secret);
    expect(await again.closed()).toEqual({ code: 4401, reason: 'Unauthorized: The credential is disabled' });
  });

  it('delivers a ROTATED notice whose effectiveAt is the end of the grace period', async () => {
    const subscriber = client(readerA);
    const record = await subscribed(subscriber);
    const id = await throwaway(adminA, 'to rotate');
    const before = Date.now();
    const response = await graphql(gw.url, ROTATE_TOKEN, { input: { id, gracePeriodSeconds: 600 } }, adminA);
    const after = Date.now();
    expect(response.errors).toBeUndefined();

    await subscriber.until(() => record.notices.length === 1);
    expect(record.notices[0]).toMatchObject({ tokenId: id, tenantId: 'sub-a', kind: 'ROTATED', reason: null, actor: { type: 'token' } });
    const effectiveAt = new Date(record.notices[0].effectiveAt).getTime();
    expect(effectiveAt).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(effectiveAt).toBeLessThanOrEqual(after + 600_000 + 1000);
  });

  it('enforces the query depth limit over WebSocket, like HTTP', async () => {
    let nested = 'id';
    for (let i = 0; i < 12; i++) nested = `id { ${nested} }`;
    const deep = `subscription { tokenRevoked { actor { ${nested} } } }`;
    const subscriber = client(readerA);
    await subscriber.connected();
    const record = subscriber.subscribe({}, deep);
    await subscriber.until(() => record.ended);
    const depthError = record.errors.find((error) => /nested \d+ fields deep; at most 10/.test(error.message));
    expect(depthError?.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(record.errors.every((error) => error.extensions?.code === 'BAD_USER_INPUT')).toBe(true);
    expect(JSON.stringify(record.raw)).not.toMatch(NO_STACK_TRACE);

    const overHttp = await graphql(gw.url, `{ viewer { ${nested} } }`, {}, readerA);
    expect(overHttp.errors?.some((error) => /nested \d+ fields deep; at most 10/.test(error.message))).toBe(true);
  });

  it('answers queries and mutations over WebSocket with BAD_USER_INPUT (they belong on HTTP)', async () => {
    const subscriber = client(readerA);
    await subscriber.connected();
    const record = subscriber.subscribe({}, '{ viewer { id } }');
    await subscriber.until(() => record.ended);
    expect(record.errors[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(record.errors[0].message).toMatch(/Only subscriptions/);
  });

  it('answers a subscription sent over HTTP with BAD_USER_INPUT', async () => {
    const response = await graphql(gw.url, TOKEN_REVOKED, {}, readerA);
    expect(response.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.errors?.[0].message).toMatch(/WebSocket/);
    expect(response.raw).not.toMatch(NO_STACK_TRACE);
  });

  it('closes a connection sending a message over the body limit (1009)', async () => {
    const socket = new WebSocket(wsUrl(gw.url), 'graphql-transport-ws');
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    const consoleError = jest.spyOn(console, 'error');
    try {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${readerA}`, pad: 'x'.repeat(300 * 1024) } }));
      expect(await closed).toBe(1009);
      // The server closes with 1009 before it reports the oversize message, in the same turn.
      expect(consoleError).not.toHaveBeenCalled();
    } finally {
      consoleError.mockRestore();
    }
    const lines = gw
      .logs()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { level: string; msg: string });
    const reported = lines.filter((line) => /message size limit/.test(line.msg));
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ level: 'warn', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' });
    expect(JSON.stringify(reported[0])).not.toMatch(NO_STACK_TRACE);
    expect(lines.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  });

  it('a query error result is formatted like HTTP: code, no stack trace, no echoed value', async () => {
    const subscriber = client(readerA);
    await subscriber.connected();
    const record = subscriber.subscribe({ afterPosition: { secret: 'klt_supersecretvalue' } });
    await subscriber.until(() => record.ended);
    expect(record.errors[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(JSON.stringify(record.raw)).not.toMatch(/supersecretvalue/);
    expect(JSON.stringify(record.raw)).not.toMatch(NO_STACK_TRACE);
  });
});

describe('Subscription.tokenRevoked and the clock', () => {
  const clock = new TestClock();
  let gw: TestGateway;
  let admin: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock });
    ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'clock', roles: ['keyledger:admin'] }));
  });
  afterAll(async () => gw?.stop());
  // Each test counts its own subscription: wait until the previous test's are released.
  afterEach(async () => eventually(async () => (await metricValue(gw.url, 'keyledger_subscriptions')) === 0));

  // The clock stands still while a connection is set up, however slow the machine; the
  // connection's timer then finds the clock moved past the instant and acts.
  it('closes the socket with 4403 when the subscriber’s own credential expires', async () => {
    const expiresAt = new Date(clock.now().getTime() + 1000).toISOString();
    const { secret } = await issueToken(gw.url, admin, { name: 'expiring', roles: ['keyledger:tokens:read'], expiresAt });
    const subscriber = new SubscriberClient(gw.url, secret);
    try {
      await subscriber.connected();
      subscriber.subscribe();
      await waitForSubscriptions(gw.url, 1);
      clock.advance(1000);
      const closed = await subscriber.closed(10_000);
      expect(closed).toEqual({ code: 4403, reason: 'Forbidden: the credential of this connection has expired' });
      expect(clock.now().getTime()).toBeGreaterThanOrEqual(new Date(expiresAt).getTime());
    } finally {
      await subscriber.dispose();
    }
  });

  it('keeps a subscriber whose own credential was rotated until the grace period ends, then closes it with 4403', async () => {
    const { secret, id } = await issueToken(gw.url, admin, { name: 'self-rotating reader', roles: ['keyledger:tokens:read'] });
    const subscriber = new SubscriberClient(gw.url, secret);
    try {
      await subscriber.connected();
      const record = subscriber.subscribe();
      await waitForSubscriptions(gw.url, 1);
      const response = await graphql(gw.url, ROTATE_TOKEN, { input: { id, gracePeriodSeconds: 2 } }, admin);
      expect(response.errors).toBeUndefined();
      await subscriber.until(() => record.notices.length === 1);
      const notice = record.notices[0];
      expect(notice).toMatchObject({ tokenId: id, kind: 'ROTATED' });
      // Within the grace period (the clock has not moved) the connection stays open.
      expect(await metricValue(gw.url, 'keyledger_subscriptions')).toBe(1);
      expect(subscriber.closeEvent).toBeNull();

      clock.advance(2000);
      const closed = await subscriber.closed(10_000);
      expect(closed).toEqual({ code: 4403, reason: 'Forbidden: the secret of this connection was rotated and its grace period has ended' });
      expect(clock.now().getTime()).toBeGreaterThanOrEqual(new Date(notice.effectiveAt).getTime());
    } finally {
      await subscriber.dispose();
    }
  });

  it('closes a connection whose credential has expired by the clock when the next event arrives (4403)', async () => {
    const expiresAt = new Date(clock.now().getTime() + 60 * 60_000).toISOString();
    const { secret } = await issueToken(gw.url, admin, { name: 'expires in an hour', roles: ['keyledger:tokens:read'], expiresAt });
    const subscriber = new SubscriberClient(gw.url, secret);
    try {
      await subscriber.connected();
      subscriber.subscribe();
      await waitForSubscriptions(gw.url, 1);
      clock.advance(2 * 60 * 60_000);
      const { id } = await issueToken(gw.url, admin, { name: 'any change' });
      await graphql(gw.url, REVOKE_TOKEN, { input: { id } }, admin);
      expect(await subscriber.closed()).toEqual({ code: 4403, reason: 'Forbidden: the credential of this connection has expired' });
    } finally {
      await subscriber.dispose();
    }
  });
});

describe('Subscription.tokenRevoked per-connection limits', () => {
  let gw: TestGateway;
  let reader: string;
  const clients: SubscriberClient[] = [];

  beforeAll(async () => {
    gw = await startGatewayWithLimits({ subscribeMessages: 5, subscribeWindowSeconds: 60, subscriptionsPerConnection: 3 });
    ({ secret: reader } = await issueToken(gw.url, ROOT_SECRET, { name: 'reader', tenantId: 'limits', roles: ['keyledger:tokens:read'] }));
  });
  afterEach(async () => Promise.all(clients.splice(0).map((subscriber) => subscriber.dispose())));
  afterAll(async () => gw?.stop());

  it('refuses subscriptions past the per-connection count with RATE_LIMITED, and takes new ones once one completes', async () => {
    const subscriber = new SubscriberClient(gw.url, reader);
    clients.push(subscriber);
    await subscriber.connected();
    const open = [subscriber.subscribe(), subscriber.subscribe(), subscriber.subscribe()];
    await waitForSubscriptions(gw.url, 3);
    const fourth = subscriber.subscribe();
    await subscriber.until(() => fourth.ended);
    expect(fourth.errors[0].extensions?.code).toBe('RATE_LIMITED');
    expect(fourth.errors[0].message).toMatch(/At most 3 subscriptions/);

    open[0].unsubscribe();
    await eventually(async () => (await metricValue(gw.url, 'keyledger_subscriptions')) === 2);
    subscriber.subscribe();
    await waitForSubscriptions(gw.url, 3);
    expect(open.slice(1).every((subscription) => !subscription.ended)).toBe(true);
    expect(subscriber.closeEvent).toBeNull();
  });

  it('answers subscribe messages past the per-connection rate with RATE_LIMITED and a retryAfter', async () => {
    const subscriber = new SubscriberClient(gw.url, reader);
    clients.push(subscriber);
    await subscriber.connected();
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const answer = subscriber.subscribe({ afterPosition: 'not a position' });
      await subscriber.until(() => answer.ended);
      answers.push(answer.errors[0]);
    }
    expect(answers.slice(0, 5).map((error) => error.extensions?.code)).toEqual(Array(5).fill('BAD_USER_INPUT'));
    expect(answers[5].extensions).toEqual({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(answers[5].message).toMatch(/At most 5 subscribe messages per 60 seconds/);
    expect(subscriber.closeEvent).toBeNull();
  });
});
