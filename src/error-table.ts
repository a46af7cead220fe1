import type { ErrorCode } from './domain/errors';
import { SubscriptionCloseCode } from './graphql/subscriptions/close-codes';
import type { OAuthErrorCode } from './http/partners/oauth-errors';

/**
 * How one domain error code reads on every transport. Each transport looks its answer up
 * here and nowhere else, so a code added to `ErrorCode` fails the type check until every
 * transport has been told what to answer.
 */
export interface ErrorTranslation {
  /** `extensions.code` in GraphQL, and what else the extensions carry instead of the error's details. */
  graphql: { code: Exclude<ErrorCode, 'UNAVAILABLE'>; extensions: { reason: ErrorCode; retryable: true } | 'details' };
  /** The status of every REST shape (the audit export, the Sunshine and ZIS routes). */
  httpStatus: number;
  /** The `code` of a Sunshine Conversations integration-keys error, `{errors: [{code, title}]}`. */
  sunshine: string;
  /** The `code` of a Zendesk ZIS connections error, `{errors: [{code, title}]}`. */
  zis: string;
  /** The Zipteams partner auth-token route's answer: a status and one of its documented bodies. */
  zipteams: { status: number; body: 'forbidden' | 'rateLimited' | 'serverError'; retryAfter?: true };
  /** The OAuth endpoints' answer (RFC 6749 §5.2, RFC 6750 §3.1); null: a server_error, logged. */
  oauth: { status: number; error: OAuthErrorCode; challenge?: 'basic' | 'insufficient_scope'; retryAfter?: 'details' | number } | null;
  /**
   * A WebSocket connection refused at connect: its close code and reason prefix; null: set-up
   * failed, logged and closed with 4500. `recheck`: what a failed check of a live connection does.
   */
  webSocket: { connect: { closeCode: number; prefix: string } | null; recheck: 'close' | 'retry' };
}

/**
 * Cotalker API tokens and Zoho Cliq webhook tokens are managed through GraphQL (their source
 * documents describe no API of their own), so their errors are the `graphql` column.
 */
export const ERROR_TABLE = {
  BAD_USER_INPUT: {
    graphql: { code: 'BAD_USER_INPUT', extensions: 'details' },
    httpStatus: 400,
    sunshine: 'bad_request',
    zis: 'InvalidIntegration',
    // A missing tenant or subtenant has bodies of its own (the route tells them apart by field); any other is a tenant no credential can hold.
    zipteams: { status: 403, body: 'forbidden' },
    oauth: { status: 400, error: 'invalid_request' },
    webSocket: { connect: null, recheck: 'retry' },
  },
  UNAUTHENTICATED: {
    graphql: { code: 'UNAUTHENTICATED', extensions: 'details' },
    httpStatus: 401,
    sunshine: 'unauthorized',
    zis: 'InvalidCredentials',
    zipteams: { status: 403, body: 'forbidden' },
    oauth: { status: 401, error: 'invalid_client', challenge: 'basic' },
    webSocket: { connect: { closeCode: SubscriptionCloseCode.unauthorized, prefix: 'Unauthorized' }, recheck: 'close' },
  },
  FORBIDDEN: {
    graphql: { code: 'FORBIDDEN', extensions: 'details' },
    httpStatus: 403,
    sunshine: 'forbidden',
    zis: 'Forbidden',
    zipteams: { status: 403, body: 'forbidden' },
    // Only a bearer lacking the endpoint's role gets here, before its token parameter is read (RFC 6750 §3.1).
    oauth: { status: 403, error: 'insufficient_scope', challenge: 'insufficient_scope' },
    webSocket: { connect: { closeCode: SubscriptionCloseCode.forbidden, prefix: 'Forbidden' }, recheck: 'close' },
  },
  NOT_FOUND: {
    graphql: { code: 'NOT_FOUND', extensions: 'details' },
    httpStatus: 404,
    sunshine: 'not_found',
    zis: 'NotFound',
    zipteams: { status: 500, body: 'serverError' },
    oauth: null,
    webSocket: { connect: null, recheck: 'retry' },
  },
  CONFLICT: {
    graphql: { code: 'CONFLICT', extensions: 'details' },
    httpStatus: 409,
    sunshine: 'conflict',
    zis: 'Conflict',
    zipteams: { status: 500, body: 'serverError' },
    oauth: null,
    webSocket: { connect: null, recheck: 'retry' },
  },
  RATE_LIMITED: {
    graphql: { code: 'RATE_LIMITED', extensions: 'details' },
    httpStatus: 429,
    sunshine: 'too_many_requests',
    zis: 'TooManyRequests',
    zipteams: { status: 429, body: 'rateLimited', retryAfter: true },
    oauth: { status: 429, error: 'temporarily_unavailable', retryAfter: 'details' },
    webSocket: { connect: { closeCode: SubscriptionCloseCode.tooManyRequests, prefix: 'Too many requests' }, recheck: 'retry' },
  },
  UNAVAILABLE: {
    // Not a public code: clients see an internal error they may retry.
    graphql: { code: 'INTERNAL_SERVER_ERROR', extensions: { reason: 'UNAVAILABLE', retryable: true } },
    httpStatus: 503,
    sunshine: 'service_unavailable',
    zis: 'ServiceUnavailable',
    zipteams: { status: 500, body: 'serverError' },
    oauth: { status: 503, error: 'temporarily_unavailable', retryAfter: 5 },
    webSocket: { connect: { closeCode: SubscriptionCloseCode.tryAgainLater, prefix: 'Try again later' }, recheck: 'retry' },
  },
  INTERNAL_SERVER_ERROR: {
    graphql: { code: 'INTERNAL_SERVER_ERROR', extensions: 'details' },
    httpStatus: 500,
    sunshine: 'internal_server_error',
    zis: 'InternalServerError',
    zipteams: { status: 500, body: 'serverError' },
    oauth: null,
    webSocket: { connect: null, recheck: 'retry' },
  },
} as const satisfies Record<ErrorCode, ErrorTranslation>;

/** One column of the table, by domain code: what a transport that speaks one vocabulary needs. */
export function errorColumn<Column extends keyof ErrorTranslation>(column: Column): { [Code in ErrorCode]: (typeof ERROR_TABLE)[Code][Column] } {
  return Object.fromEntries(Object.entries(ERROR_TABLE).map(([code, row]) => [code, row[column]])) as { [Code in ErrorCode]: (typeof ERROR_TABLE)[Code][Column] };
}

/** The row of a code; a code forged at run time past the type check reads as an internal error. */
export function translationOf(code: ErrorCode): ErrorTranslation {
  return ERROR_TABLE[code] ?? ERROR_TABLE.INTERNAL_SERVER_ERROR;
}
