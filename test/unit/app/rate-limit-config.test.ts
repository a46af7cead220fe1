import { ConfigError, loadConfig } from '../../../src/config';

const base = { KEYLEDGER_DATA_DIR: '/tmp/keyledger-config-test' };

describe('rate limit configuration', () => {
  it('limits by default, and 0 turns a limit off', () => {
    expect(loadConfig(base).rateLimits).toEqual({
      redisUrl: null,
      redisKeyPrefix: 'keyledger',
      mutationsPerPrincipal: 300,
      mutationsPerIp: 600,
      authFailuresPerIp: 30,
      expensiveQueriesPerPrincipal: 10,
    });
    const off = loadConfig({
      ...base,
      KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
      KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
      KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
      KEYLEDGER_RATE_LIMIT_EXPENSIVE_QUERIES_PER_MINUTE: '0',
    });
    expect(off.rateLimits).toMatchObject({ mutationsPerPrincipal: 0, mutationsPerIp: 0, authFailuresPerIp: 0, expensiveQueriesPerPrincipal: 0 });
  });

  it('refuses negative or fractional limits, naming the variable', () => {
    expect(() => loadConfig({ ...base, KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '-1' })).toThrow(/KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE/);
    expect(() => loadConfig({ ...base, KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2.5' })).toThrow(ConfigError);
  });

  it.each(['redis://cache:6379', 'rediss://user:pass@cache.example.com:6380/2', 'unix:///run/redis/redis.sock'])('accepts the Redis URL %s', (url) => {
    expect(loadConfig({ ...base, KEYLEDGER_RATE_LIMIT_REDIS_URL: url }).rateLimits.redisUrl).toBe(url);
  });

  it.each(['http://cache:6379', 'cache:6379', 'unix://relative.sock'])('refuses the Redis URL %s', (url) => {
    expect(() => loadConfig({ ...base, KEYLEDGER_RATE_LIMIT_REDIS_URL: url })).toThrow(/KEYLEDGER_RATE_LIMIT_REDIS_URL/);
  });

  it('trusts no proxy unless told, then a hop count or a list of addresses and ranges', () => {
    expect(loadConfig(base).trustProxy).toBe(false);
    expect(loadConfig({ ...base, KEYLEDGER_TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ ...base, KEYLEDGER_TRUST_PROXY: 'loopback, 10.0.0.0/8,fd00::/8, 192.0.2.1' }).trustProxy).toEqual([
      'loopback',
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.1',
    ]);
  });

  it.each(['true', '10.0.0.0/33', 'proxy.example.com', 'loopback,', '1.2.3'])('refuses KEYLEDGER_TRUST_PROXY=%s', (value) => {
    expect(() => loadConfig({ ...base, KEYLEDGER_TRUST_PROXY: value })).toThrow(/KEYLEDGER_TRUST_PROXY/);
  });
});
