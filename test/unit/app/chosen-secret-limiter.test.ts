import { ChosenSecretLimiter } from '../../../src/app/credentials/chosen-secret-limiter';

describe('ChosenSecretLimiter', () => {
  it('limits a lookup tag after its failures are spent, whatever the client', async () => {
    const limiter = new ChosenSecretLimiter({ perTag: 3, perIp: 100, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) {
      expect(await limiter.check('abc123', `10.0.0.${i}`)).toEqual({ limited: false });
      await limiter.recordFailure('abc123', `10.0.0.${i}`);
    }
    const decision = await limiter.check('abc123', '10.0.0.99');
    expect(decision).toMatchObject({ limited: true });
    expect(decision.limited && decision.retryAfterSeconds).toBeGreaterThan(0);
    expect(decision.limited && decision.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await limiter.check('def456', '10.0.0.99')).toEqual({ limited: false });
  });

  it('limits a client after its failures are spent, whatever the tag', async () => {
    const limiter = new ChosenSecretLimiter({ perTag: 100, perIp: 2, windowSeconds: 60 });
    await limiter.recordFailure('aaaaaa', '192.0.2.1');
    await limiter.recordFailure('bbbbbb', '192.0.2.1');
    expect(await limiter.check('cccccc', '192.0.2.1')).toMatchObject({ limited: true });
    expect(await limiter.check('cccccc', '192.0.2.2')).toEqual({ limited: false });
    expect(await limiter.check('cccccc', undefined)).toEqual({ limited: false });
  });

  it('keeps counting past the limit without throwing', async () => {
    const limiter = new ChosenSecretLimiter({ perTag: 1, perIp: 1, windowSeconds: 60 });
    for (let i = 0; i < 5; i++) await limiter.recordFailure('aaaaaa', '192.0.2.1');
    expect(await limiter.check('aaaaaa', '192.0.2.1')).toMatchObject({ limited: true });
  });
});
