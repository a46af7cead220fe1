/**
 * The error codes a caller can see, shared by every transport. GraphQL puts them in
 * `extensions.code`; the REST shapes map them to statuses.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/** A failure the caller caused or must know about. Its message is safe to show. */
export class KeyledgerError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, non-secret fields for the client (e.g. `field`, `retryAfter`). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'KeyledgerError';
  }
}

export const badInput = (message: string, field?: string) =>
  new KeyledgerError('BAD_USER_INPUT', message, field ? { field } : {});
export const notFound = (message: string) => new KeyledgerError('NOT_FOUND', message);
export const conflict = (message: string) => new KeyledgerError('CONFLICT', message);
export const forbidden = (message: string) => new KeyledgerError('FORBIDDEN', message);
export const unauthenticated = (message: string) => new KeyledgerError('UNAUTHENTICATED', message);

/** Why a presented credential did not authenticate, in words safe to show its holder. */
export function credentialRefused(code: string): KeyledgerError {
  if (code === 'REVOKED') return unauthenticated('The credential has been revoked');
  if (code === 'EXPIRED') return unauthenticated('The credential has expired');
  if (code === 'DISABLED') return unauthenticated('The credential is disabled');
  return unauthenticated('The credential is not valid');
}
