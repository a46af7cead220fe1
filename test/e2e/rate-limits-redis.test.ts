import { Redis } from 'ioredis';
import { generateToken } from '../../src/crypto/token-format';
import { errorCode, graphql, type GraphQLResponse } from '../helpers/graphql-client';
import { eventually, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { redisRequired, redisUnavailableReason, startRedisServer, type RedisServer } from '../helpers/redis-server';
import { basic, postForm } from '../helpers/partner-client';
import { metricValue } from '../helpers/subscriptions';

const REVOKE_NOTHING = `mutation { revokeToken(input: { id: "tok_does_not_exist" }) { id } }`;
const UNKNOWN_TOKEN = generateToken('kl');
const PREFIX = 'kl-test';

function from(ip: string): Record<string, string> {
  return { 'x-forwarded-for': ip };
}

function mutate(gw: TestGateway, ip: string): Promise<GraphQLResponse> {
  return graphql(gw.url, REVOKE_NOTHING, {}, ROOT_SECRET, from(ip));
}

function viewer(gw: TestGateway, bearer: string, ip: string): Promise<GraphQLResponse> {
  return graphql(gw.url, '{ viewer { id } }', {}, bearer, from(ip));
}

async function connectedClients(redis: Redis): Promise<number> {
  return Number(/connected_clients:(\d+)/.exec(await redis.info('clients'))![1]);
}

const unavailable = redisUnavailableReason();

if (unavailable && redisRequired()) {
  describe('rate limits shared through Redis', () => {
    it('needs redis-server', () => {
      throw new Error(`${unavailable}: install it (apt-get install redis-server); CI and KEYLEDGER_REQUIRE_REDIS=1 require these tests`);
    });
  });
} else {
  // Without redis-server the cases are still declared, skipped, so the run reports how many did not run and why.
  (unavailable ? describe.skip : describe)(`rate limits shared through Redis${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
    let redis: RedisServer;
    let inspect: Redis;
    let first: TestGateway;
    let second: TestGateway;

    beforeAll(async () => {
      redis = await startRedisServer();
      inspect = new Redis({ path: redis.socketPath, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
      inspect.on('error', () => undefined);
      const env = {
        KEYLEDGER_RATE_LIMIT_REDIS_URL: redis.url,
        KEYLEDGER_RATE_LIMIT_REDIS_PREFIX: PREFIX,
        KEYLEDGER_TRUST_PROXY: 'loopback',
        KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
        KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '3',
        KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2',
        KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE: '2',
      };
      // Two replicas: separate data directories, one Redis.
      [first, second] = await Promise.all([startTestGateway({ env }), startTestGateway({ env })]);
    });
    afterAll(async () => {
      await Promise.all([first?.stop(), second?.stop()]);
      inspect?.disconnect();
      await redis?.remove();
    });

    it('shares the mutation budget of an address between the replicas', async () => {
      const ip = '198.51.100.1';
      expect(errorCode(await mutate(first, ip))).toBe('NOT_FOUND');
      expect(errorCode(await mutate(second, ip))).toBe('NOT_FOUND');
      expect(errorCode(await mutate(first, ip))).toBe('NOT_FOUND');
      const refused = await mutate(second, ip);
      expect(errorCode(refused)).toBe('RATE_LIMITED');
      expect(refused.errors![0].extensions!.retryAfter).toBeGreaterThanOrEqual(1);
      expect(errorCode(await mutate(first, ip))).toBe('RATE_LIMITED');
      expect(errorCode(await mutate(first, '198.51.100.2'))).toBe('NOT_FOUND');
    });

    it('shares the public revocation budget of an address between the replicas', async () => {
      const ip = '198.51.100.20';
      const revoke = async (gw: TestGateway, address: string) => {
        const response = await fetch(`${gw.url}/credentials/revoke`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...from(address) },
          body: JSON.stringify({ credentials: ['not-a-secret-at-all'] }),
        });
        return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as { errors: Array<{ code: string }> } };
      };
      expect((await revoke(first, ip)).status).toBe(202);
      expect((await revoke(second, ip)).status).toBe(202);
      const refused = await revoke(first, ip);
      expect({ status: refused.status, code: refused.body.errors[0].code }).toEqual({ status: 429, code: 'rate_limited' });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      expect((await revoke(second, '198.51.100.21')).status).toBe(202);
      expect(await inspect.keys(`${PREFIX}:public-revocations-ip:*`)).toEqual(expect.arrayContaining([`${PREFIX}:public-revocations-ip:${ip}`]));
    });

    it('shares failed authentications: failures on one replica lock the address out of the other', async () => {
      const ip = '198.51.100.10';
      expect(errorCode(await viewer(first, UNKNOWN_TOKEN, ip))).toBe('UNAUTHENTICATED');
      expect(errorCode(await viewer(second, UNKNOWN_TOKEN, ip))).toBe('UNAUTHENTICATED');
      const locked = await viewer(first, ROOT_SECRET, ip);
      expect(locked.status).toBe(429);
      expect(errorCode(locked)).toBe('RATE_LIMITED');
    });

    it('keeps its counters under the deployment prefix, one key space per limit, holding no credential', async () => {
      const apiKey = generateToken('klp');
      const apiSecret = generateToken('klps');
      const form = { grant_type: 'client_credentials', tenant_id: 't', sub_tenant_id: 's' };
      expect((await postForm(first.url, '/oauth/token', form, { authorization: basic(apiKey, apiSecret), ...from('198.51.100.40') })).status).toBe(401);
      const keys = await inspect.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key.startsWith(`${PREFIX}:`)).toBe(true);
      expect(keys).toEqual(
        expect.arrayContaining([
          `${PREFIX}:mutations-ip:198.51.100.1`,
          `${PREFIX}:auth-failures-ip:198.51.100.10`,
          `${PREFIX}:partner-ip:198.51.100.40`,
          expect.stringMatching(new RegExp(`^${PREFIX}:partner-key:`)),
        ]),
      );
      const stored = JSON.stringify(keys);
      expect(stored).not.toContain(apiKey);
      expect(stored).not.toContain(apiSecret);
      expect(stored).not.toContain(UNKNOWN_TOKEN);
      expect(stored).not.toContain(ROOT_SECRET);
      expect(await metricValue(first.url, 'keyledger_rate_limit_store_up')).toBe(1);
    });

    it('falls back to limits per replica while Redis is down, without failing requests, and shares again once it is back', async () => {
      await redis.stop();
      const ip = '198.51.100.20';
      const codes: Array<string | undefined> = [];
      for (let i = 0; i < 4; i++) codes.push(errorCode(await mutate(first, ip)));
      // Each replica counts on its own now: the other still has the address's whole budget.
      for (let i = 0; i < 4; i++) codes.push(errorCode(await mutate(second, ip)));
      expect(codes).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'RATE_LIMITED', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'RATE_LIMITED']);
      expect(await metricValue(first.url, 'keyledger_rate_limit_store_up')).toBe(0);
      const outage = first.logs().split('\n').filter((line) => line.includes('rate-limit store is unreachable'));
      expect(outage).toHaveLength(1);
      expect(first.logs()).not.toContain(redis.socketPath);

      await redis.start();
      await eventually(async () => (await metricValue(first.url, 'keyledger_rate_limit_store_up')) === 1, 10_000);
      await eventually(async () => (await metricValue(second.url, 'keyledger_rate_limit_store_up')) === 1, 10_000);
      const shared = '198.51.100.30';
      expect(errorCode(await mutate(first, shared))).toBe('NOT_FOUND');
      expect(errorCode(await mutate(second, shared))).toBe('NOT_FOUND');
      expect(errorCode(await mutate(first, shared))).toBe('NOT_FOUND');
      expect(errorCode(await mutate(second, shared))).toBe('RATE_LIMITED');
      expect(first.logs()).toContain('rate-limit store is reachable again');
    });

    it('closes its Redis connection when the gateway stops', async () => {
      await eventually(async () => inspect.status === 'ready', 10_000);
      const before = await connectedClients(inspect);
      await second.stop();
      await eventually(async () => (await connectedClients(inspect)) === before - 1, 5000);
    });
  });
}
