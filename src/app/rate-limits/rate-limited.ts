import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { KeyledgerError } from '../../domain/errors';

/** Whole seconds until a refused caller may try again, at least 1: what `retryAfter` and Retry-After carry. */
export function retryAfterSeconds(msBeforeNext: number): number {
  return Math.max(1, Math.ceil(msBeforeNext / 1000));
}

/** Thrown as RATE_LIMITED; `retryAfter` (whole seconds) reaches GraphQL extensions and the Retry-After header. */
export function rateLimited(retryAfter: number, message = `Rate limit exceeded. Try again in ${retryAfter} seconds.`): KeyledgerError {
  return new KeyledgerError('RATE_LIMITED', message, { retryAfter });
}

/** Seconds until the key may go on, or null when it was charged within its limit. */
export async function consumePoint(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  try {
    await limiter.consume(key, 1);
    return null;
  } catch (rejection) {
    // Being over the limit is an answer; anything else (the insurance limiter failing too) is a fault.
    if (rejection instanceof RateLimiterRes) return retryAfterSeconds(rejection.msBeforeNext);
    throw rejection;
  }
}

/** Charges the key one point; RATE_LIMITED, with `message` for its wait, when the limit is spent. */
export async function chargeOrRefuse(limiter: RateLimiterAbstract, key: string, message: (retryAfter: number) => string): Promise<void> {
  const retryAfter = await consumePoint(limiter, key);
  if (retryAfter !== null) throw rateLimited(retryAfter, message(retryAfter));
}

/** Seconds until the key has points again, or null while it has some left; charges nothing. */
export async function spentFor(limiter: RateLimiterAbstract, key: string): Promise<number | null> {
  const state = await limiter.get(key);
  if (!state || state.consumedPoints < limiter.points) return null;
  return retryAfterSeconds(state.msBeforeNext);
}
