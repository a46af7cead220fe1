import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { AuthFailureLimiter, memoryLimiters, type LimiterFactory } from '../../../src/app/rate-limits';
import { unauthenticated } from '../../../src/domain/errors';

function countingLimiters(): { factory: LimiterFactory; reads: () => number } {
  let reads = 0;
  const factory: LimiterFactory = {
    create(spec) {
      const limiter: RateLimiterAbstract = memoryLimiters.create(spec);
      const get = limiter.get.bind(limiter);
      limiter.get = (key, options) => {
        reads++;
        return get(key, options);
      };
      return limiter;
    },
  };
  return { factory, reads: () => reads };
}

const refuse = () => Promise.reject(unauthenticated('The credential is not valid'));

describe('AuthFailureLimiter.guard', () => {
  it('reads the counter before authenticating, and refuses a locked address without authenticating', async () => {
    const { factory, reads } = countingLimiters();
    const limiter = new AuthFailureLimiter(1, factory);
    await expect(limiter.guard('192.0.2.1', refuse)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(reads()).toBe(1);
    const authenticate = jest.fn(async () => 'principal');
    await expect(limiter.guard('192.0.2.1', authenticate)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(authenticate).not.toHaveBeenCalled();
  });

  it('does not read the counter again for an address the transport has checked, and still charges its refusals', async () => {
    const { factory, reads } = countingLimiters();
    const limiter = new AuthFailureLimiter(1, factory);
    await expect(limiter.guard('192.0.2.1', async () => 'principal', true)).resolves.toBe('principal');
    await expect(limiter.guard('192.0.2.1', refuse, true)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(reads()).toBe(0);
    expect(await limiter.lockedFor('192.0.2.1')).toBeGreaterThan(0);
  });
});
