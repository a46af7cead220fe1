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
