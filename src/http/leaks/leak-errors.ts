import type { ErrorRequestHandler, Request } from 'express';
import { KeyledgerError } from '../../domain/errors';
import { errorBody, HTTP_STATUS } from '../rest-errors';

/** The code of each refusal, by keyledger error code; a refusal may name a finer one in `details.reason`. */
const CODES: Record<string, string> = {
  BAD_USER_INPUT: 'invalid_request',
  UNAUTHENTICATED: 'invalid_signature',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  CONFLICT: 'conflict',
  RATE_LIMITED: 'rate_limited',
  UNAVAILABLE: 'unavailable',
  INTERNAL_SERVER_ERROR: 'internal_error',
};

export function leakRefusal(code: 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'NOT_FOUND' | 'UNAVAILABLE', reason: string, message: string): KeyledgerError {
  return new KeyledgerError(code, message, { reason });
}

/**
 * Errors of the leak routes as `{ errors: [{ code, title }] }`. No refusal echoes what was
 * sent: a body here is made of secrets.
 */
export function leakErrorHandler(bodyLimit: string, reportError: (error: unknown, req: Request) => void): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof KeyledgerError) {
      const status = HTTP_STATUS[error.code] ?? 500;
      const code = typeof error.details.reason === 'string' ? error.details.reason : (CODES[error.code] ?? 'internal_error');
      if (typeof error.details.retryAfter === 'number') res.setHeader('retry-after', String(error.details.retryAfter));
      if (status === 401) res.setHeader('www-authenticate', 'GitHub-Public-Key-Signature');
      if (status >= 500) reportError(error, req);
      res.status(status).json(errorBody(code, error.message));
      return;
    }
    if (error?.type === 'entity.parse.failed') {
      res.status(400).json(errorBody('invalid_json', 'The request body is not valid JSON'));
      return;
    }
    if (error?.type === 'entity.too.large') {
      res.status(413).json(errorBody('body_too_large', `The request body exceeds the limit of ${bodyLimit}`));
      return;
    }
    if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      res.status(error.status).json(errorBody('invalid_request', 'The request is malformed'));
      return;
    }
    reportError(error, req);
    res.status(500).json(errorBody('internal_error', 'Internal server error'));
  };
}
