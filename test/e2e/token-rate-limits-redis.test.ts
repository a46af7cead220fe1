import { EsdbDouble } from '../helpers/esdb-double';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';
import { graphql } from '../helpers/graphql-client';
import { redisRequired, redisUnavailableReason, startRedisServer, type RedisServer } from '../helpers/redis-server';

const MASTER_KEY = Buffer.alloc(32, 45).toString('base64');
const LIMIT = 20;
const PER_PROCESS = 30;
const PROCESS_TEST_TIMEOUT_MS = 120_000;
const VERIFY = `query Verify($token: String!, $rateLimits: [RateLimitUseInput!]) {
  verifyToken(token: $token, rateLimits: $rateLimits) { code rateLimits { remaining exceeded } }
}`;

/** PER_PROCESS verifications on each gateway at once; their codes, in no particular order. */
function race(verifiers: Array<{ url: string; secret: string }>): Promise<string[]> {
  return Promise.all(
    verifiers.flatMap(({ url, secret }) =>
      Array.from({ length: PER_PROCESS }, async () => {
        const response = await graphql(url, VERIFY, { token: secret }, ROOT_SECRET);
        if (response.errors) throw new Error(JSON.stringify(response.errors));
        return response.data!.verifyToken.code as string;
      }),
    ),
  );
}

const unavailable = redisUnavailableReason();

if (unavailable && redisRequired()) {
  describe('token rate limits shared through Redis', () => {
    it('needs redis-server', () => {
      throw new Error(`${unavailable}: install it (apt-get install redis-server); CI and KEYLEDGER_REQUIRE_REDIS=1 require these tests`);
    });
  });
} else {
  (unavailable ? describe.skip : describe)(`token rate limits shared through Redis${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
    let redis: RedisServer;
    const fleet = new GatewayFleet('keyledger-token-limits');

    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await fleet.stop();
      await redis?.remove();
    });

    it('two gateway processes racing verifications answer VALID exactly as often as the limit allows', async () => {
      const env = { KEYLEDGER_RATE_LIMIT_REDIS_URL: redis.url, KEYLEDGER_RATE_LIMIT_REDIS_PREFIX: 'kl-token-limits' };
      const dataDir = fleet.tempDir();
      const [one, two] = await Promise.all([fleet.start(dataDir, env), fleet.start(dataDir, env)]);
      const limited = await issueToken(one.url, ROOT_SECRET, {
        name: 'raced',
        tenantId: 'acme',
        rateLimits: [{ name: 'hourly', limit: LIMIT, durationSeconds: 3600 }],
      });
      // The other process holds the token before the race (a check that costs nothing counts nothing).
      await eventually(
        async () => (await graphql(two.url, VERIFY, { token: limited.secret, rateLimits: [{ name: 'hourly', cost: 0 }] }, ROOT_SECRET)).data?.verifyToken.code === 'VALID',
      );

      const answers = await race([one, two].map((gateway) => ({ url: gateway.url, secret: limited.secret })));
      expect(answers.filter((code) => code === 'VALID')).toHaveLength(LIMIT);
      expect(answers.filter((code) => code === 'RATE_LIMITED')).toHaveLength(2 * PER_PROCESS - LIMIT);
      const after = await graphql(two.url, VERIFY, { token: limited.secret, rateLimits: [{ name: 'hourly', cost: 0 }] }, ROOT_SECRET);
      expect(after.data!.verifyToken).toEqual({ code: 'RATE_LIMITED', rateLimits: [{ remaining: 0, exceeded: true }] });
    }, PROCESS_TEST_TIMEOUT_MS);

    it('two replicas on one EventStoreDB racing verifications answer VALID exactly as often as the limit allows', async () => {
      const double = await EsdbDouble.start();
      try {
        const env = {
          EVENTSTORE_CONNECTION_STRING: double.connectionString,
          KEYLEDGER_MASTER_KEY: MASTER_KEY,
          KEYLEDGER_RATE_LIMIT_REDIS_URL: redis.url,
          KEYLEDGER_RATE_LIMIT_REDIS_PREFIX: 'kl-replica-limits',
        };
        const [one, two] = await Promise.all([fleet.start(fleet.tempDir(), env), fleet.start(fleet.tempDir(), env)]);
        const limited = await issueToken(one.url, ROOT_SECRET, {
          name: 'raced on replicas',
          tenantId: 'acme',
          rateLimits: [{ name: 'hourly', limit: LIMIT, durationSeconds: 3600 }],
        });
        // The other replica has the token from the cluster before the race (a check that costs nothing counts nothing).
        await eventually(
          async () =>
            (await graphql(two.url, VERIFY, { token: limited.secret, rateLimits: [{ name: 'hourly', cost: 0 }] }, ROOT_SECRET)).data?.verifyToken.code === 'VALID',
          20_000,
        );

        const answers = await race([one, two].map((gateway) => ({ url: gateway.url, secret: limited.secret })));
        expect(answers.filter((code) => code === 'VALID')).toHaveLength(LIMIT);
        expect(answers.filter((code) => code === 'RATE_LIMITED')).toHaveLength(2 * PER_PROCESS - LIMIT);
      } finally {
        await fleet.stop();
        await double.close();
      }
    }, PROCESS_TEST_TIMEOUT_MS);

    it("two processes verifying two tokens of one identity count in the identity's one shared window", async () => {
      const env = { KEYLEDGER_RATE_LIMIT_REDIS_URL: redis.url, KEYLEDGER_RATE_LIMIT_REDIS_PREFIX: 'kl-identity-limits' };
      // Separate data directories: only Redis is shared, so only Redis can make the window one.
      const [one, two] = await Promise.all([fleet.start(fleet.tempDir(), env), fleet.start(fleet.tempDir(), env)]);
      const limit = { name: 'per-customer', limit: LIMIT, durationSeconds: 3600, shared: true };
      const [first, second] = await Promise.all(
        [one, two].map((gateway) => issueToken(gateway.url, ROOT_SECRET, { name: 'customer key', tenantId: 'acme', externalId: 'customer-1', rateLimits: [limit] })),
      );
      const verifiers = [
        { url: one.url, secret: first.secret },
        { url: two.url, secret: second.secret },
      ];
      const answers = await race(verifiers);
      expect(answers.filter((code) => code === 'VALID')).toHaveLength(LIMIT);
      expect(answers.filter((code) => code === 'RATE_LIMITED')).toHaveLength(2 * PER_PROCESS - LIMIT);
    }, PROCESS_TEST_TIMEOUT_MS);
  });
}
