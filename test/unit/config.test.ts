import { ConfigError, loadConfig } from '../../src/config';

describe('KEYLEDGER_IDEMPOTENCY_TTL_HOURS', () => {
  it('defaults to 24 hours and takes whole hours from 1 to 8760', () => {
    expect(loadConfig({}).idempotencyTtlHours).toBe(24);
    expect(loadConfig({ KEYLEDGER_IDEMPOTENCY_TTL_HOURS: '72' }).idempotencyTtlHours).toBe(72);
    expect(loadConfig({ KEYLEDGER_IDEMPOTENCY_TTL_HOURS: '8760' }).idempotencyTtlHours).toBe(8760);
  });

  it.each(['0', '8761', '1.5', 'a day'])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ KEYLEDGER_IDEMPOTENCY_TTL_HOURS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ KEYLEDGER_IDEMPOTENCY_TTL_HOURS: value })).toThrow(/KEYLEDGER_IDEMPOTENCY_TTL_HOURS/);
  });
});

describe('the public URL with a wildcard listen address', () => {
  it.each(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0'])('HOST=%s without KEYLEDGER_PUBLIC_URL is refused, naming the variable', (host) => {
    expect(() => loadConfig({ HOST: host })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: host })).toThrow(/KEYLEDGER_PUBLIC_URL is required when HOST is/);
  });

  it('HOST=0.0.0.0 with KEYLEDGER_PUBLIC_URL uses that URL', () => {
    expect(loadConfig({ HOST: '0.0.0.0', KEYLEDGER_PUBLIC_URL: 'http://localhost:4000/' }).publicUrl).toBe('http://localhost:4000');
  });

  it.each(['127.0.0.1', '::1', 'localhost', '10.0.0.7'])('HOST=%s needs no KEYLEDGER_PUBLIC_URL', (host) => {
    expect(loadConfig({ HOST: host }).publicUrl).toBeNull();
  });
});

describe('KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES', () => {
  const production = { NODE_ENV: 'production', KEYLEDGER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') };

  it('denies private push receivers in production unless allowed, and allows them elsewhere unless denied', () => {
    expect(loadConfig(production).ssf.pushToPrivateAddresses).toBe(false);
    expect(loadConfig({ ...production, KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES: 'allow' }).ssf.pushToPrivateAddresses).toBe(true);
    expect(loadConfig({}).ssf.pushToPrivateAddresses).toBe(true);
    expect(loadConfig({ KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES: 'deny' }).ssf.pushToPrivateAddresses).toBe(false);
  });

  it('refuses anything but allow or deny, naming the variable', () => {
    expect(() => loadConfig({ KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES: 'yes' })).toThrow(/KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES/);
  });
});
