import fc from 'fast-check';
import { VERIFY_TOKEN } from '../helpers/graphql-client';
import { SubscriberClient } from '../helpers/subscriptions';
import {
  anyText,
  expectSafeAnswer,
  expectSafeGraphQLAnswer,
  expectStillHealthy,
  fuzzParameters,
  fuzzTimeout,
  headerSafe,
  secretsIn,
  STACK_TRACE,
  hostileToken,
  send,
  startFuzzTarget,
  type FuzzTarget,
} from '../helpers/hostile-input';

/** Hostile credentials against a real gateway: none authenticates, none breaks an answer. */
describe('hostile token strings', () => {
  let target: FuzzTarget;

  beforeAll(async () => {
    target = await startFuzzTarget();
  });
  afterAll(async () => target?.gw.stop());

  it('as Authorization headers: never authenticate, never a 5xx, a stack or a secret', async () => {
    const doors = [
      { path: '/graphql', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ viewer { id tenantId } }' }) } },
      { path: `/v2/apps/${'fuzz'}/integrations/int-1/keys`, init: { method: 'GET' } },
      { path: '/api/services/zis/integrations/fuzz-int/connections/api_key/fuzz-conn', init: { method: 'GET' } },
      { path: '/audit/export', init: { method: 'GET' } },
    ];
    await fc.assert(
      fc.asyncProperty(
        hostileToken(target),
        fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', ''),
        fc.constantFrom(...doors),
        async (token, scheme, door) => {
          const answer = await send(`${target.gw.url}${door.path}`, {
            ...door.init,
            headers: { ...door.init.headers, authorization: headerSafe(`${scheme}${token}`) },
          });
          expectSafeAnswer(answer, target.secrets);
          // A header too large for Node's parser is answered 431 before the app sees it.
          if (door.path !== '/graphql' || answer.status === 431) {
            // The answer goes with the status into the assertion, so that a failure shows it.
            expect({ refused: [400, 401, 429, 431].includes(answer.status), status: answer.status, body: answer.raw.slice(0, 300) }).toMatchObject({ refused: true });
          } else {
            // GraphQL answers a refused credential in the body, with 200.
            const body = expectSafeGraphQLAnswer(answer, target.secrets);
            expect(body.data?.viewer ?? null).toBeNull();
            expect(['UNAUTHENTICATED', 'RATE_LIMITED']).toContain(body.errors?.[0]?.extensions?.code);
          }
        },
      ),
      fuzzParameters(120),
    );
    await expectStillHealthy(target);
  }, fuzzTimeout(120));

  it('as verifyToken(token:): a result that is never valid, never a 5xx, a stack or a secret', async () => {
    await fc.assert(
      fc.asyncProperty(hostileToken(target), fc.option(fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 })), async (token, requiredRoles) => {
        const answer = await send(`${target.gw.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${target.reader}` },
          body: JSON.stringify({ query: VERIFY_TOKEN, variables: { token, requiredRoles } }),
        });
        const body = expectSafeGraphQLAnswer(answer, target.secrets);
        if (body.errors) {
          expect(['BAD_USER_INPUT', 'RATE_LIMITED']).toContain(body.errors[0].extensions?.code);
        } else {
          expect(body.data.verifyToken.valid).toBe(false);
          expect(['NOT_FOUND', 'MALFORMED', 'REVOKED', 'EXPIRED', 'INSUFFICIENT_ROLES']).toContain(body.data.verifyToken.code);
        }
      }),
      fuzzParameters(120),
    );
    await expectStillHealthy(target);
  }, fuzzTimeout(120));

  it('as WebSocket connectionParams: the connection is refused with a close code, never accepted', async () => {
    const authorization = fc.oneof(
      { weight: 4, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'bearer ', ''), hostileToken(target)).map(([scheme, token]) => `${scheme}${token}`) },
      { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyText(40)) },
    );
    await fc.assert(
      fc.asyncProperty(authorization, async (value) => {
        const subscriber = new SubscriberClient(target.gw.url, null, { authorization: value });
        try {
          const closed = await subscriber.closed(10_000);
          expect(subscriber.acknowledged).toBe(false);
          // 1009: a message over the size limit; the 44xx codes: unauthorized, forbidden, throttled or malformed.
          expect([1009, 4400, 4401, 4403, 4429]).toContain(closed.code);
          expect(closed.reason).not.toMatch(STACK_TRACE);
          expect(secretsIn(closed.reason, target.secrets)).toEqual([]);
        } finally {
          await subscriber.dispose();
        }
      }),
      fuzzParameters(60),
    );
    await expectStillHealthy(target);
  }, fuzzTimeout(60));
});
