import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { KeyledgerError } from '../../domain/errors';
import type { LimiterFactory } from './limiter-factory';
import { consumePoint, rateLimited, spentFor } from './rate-limited';

/** Stands for callers whose address is not known, so that they share one budget instead of having none. */
export const UNKNOWN_ADDRESS = 'unknown';

/** What a locked address is told, by every transport. */
export function authFailureLocked(retryAfter: number): KeyledgerError {
  return rateLimited(retryAfter, `Too many failed authentications from this address. Try again in ${retryAfter} seconds.`);
}

/**
 * Refused bearer credentials, counted per client address. Once an address has spent its
 * budget, every credential it presents is refused before it is looked up, hashed or
 * verified, valid or not, until the window ends; a success in between does not reset the
 * count, so guesses interleaved with a valid credential gain nothing.
 */
export class AuthFailureLimiter {
  private readonly limiter: RateLimiterAbstract | null;

  /** `perMinute` 0 disables the limit. */
  constructor(perMinute: number, limiters: LimiterFactory) {
    this.limiter = perMinute > 0 ? limiters.create({ name: 'auth-failures-ip', points: perMinute, durationSeconds: 60 }) : null;
  }

  /** Seconds until the address may present credentials again, or null if it may now. */
  async lockedFor(ip: string | undefined): Promise<number | null> {
    return this.limiter ? spentFor(this.limiter, ip ?? UNKNOWN_ADDRESS) : null;
  }

  /**
   * RATE_LIMITED when the address is locked; otherwise runs `authenticate` and charges the
   * address if it refuses. `addressChecked`: the transport has just asked `lockedFor` for this
   * request and turned a locked address away, so the counter is not read a second time.
   */
  async guard<T>(ip: string | undefined, authenticate: () => Promise<T>, addressChecked = false): Promise<T> {
    if (!addressChecked) {
      const locked = await this.lockedFor(ip);
      if (locked !== null) throw authFailureLocked(locked);
    }
    try {
      return await authenticate();
    } catch (error) {
      if (this.limiter && error instanceof KeyledgerError && error.code === 'UNAUTHENTICATED') {
        await consumePoint(this.limiter, ip ?? UNKNOWN_ADDRESS);
      }
      throw error;
    }
  }
}
