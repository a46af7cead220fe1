import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { badInput, KeyledgerError, type ErrorCode } from '../domain/errors';
import { errorColumn, translationOf } from '../error-table';

/** The HTTP status of each keyledger error code, the same in every REST shape. */
export const HTTP_STATUS: Record<ErrorCode, number> = errorColumn('httpStatus');

/** Errors in the shape the seed-compatible APIs use: a list of `{code, title}`. */
export function errorBody(code: string, title: string) {
  return { errors: [{ code, title }] };
}

/**
 * A body in another content type would reach the route unparsed and read as an empty one,
 * so that the client hears about a missing field instead of what is wrong: the type.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (req.is('application/json') === false) return next(badInput('The request body must be JSON, sent with Content-Type: application/json'));
  next();
};

/** A 405 names the methods the path does take (RFC 9110 §15.5.6). */
export function methodNotAllowed(allow: string, code = 'method_not_allowed'): RequestHandler {
  return (_req, res) => {
    res.status(405).setHeader('allow', allow).json(errorBody(code, `This method is not supported here; use ${allow}`));
  };
}

export interface RestErrorOptions {
  /** The API's own error code for each keyledger error code: its column of the error table. */
  codes: Record<ErrorCode, string>;
  /** The API's error code for a body over the limit. */
  payloadTooLarge: string;
  bodyLimit: string;
  reportError(error: unknown, req: Request): void;
  /** The code and title for a keyledger error, where the API words it differently from the message. */
  describe?(error: KeyledgerError, code: string): { code: string; title: string };
  /** The `WWW-Authenticate` challenge of a 401: the schemes the routes take (RFC 9110 §11.6.1). */
  challenge?: string;
}

/** Maps keyledger errors and body-parser failures to a `{code, title}` error response in the API's vocabulary. */
export function restErrorHandler(options: RestErrorOptions): ErrorRequestHandler {
  const { codes } = options;
  return (error, req, res, _next) => {
    if (error instanceof KeyledgerError) {
      const status = translationOf(error.code).httpStatus;
      const code = codes[error.code] ?? codes.INTERNAL_SERVER_ERROR;
      if (status === 401) res.setHeader('www-authenticate', options.challenge ?? 'Bearer');
      if (error.code === 'RATE_LIMITED' && typeof error.details.retryAfter === 'number') res.setHeader('retry-after', String(error.details.retryAfter));
      if (error.code === 'INTERNAL_SERVER_ERROR') options.reportError(error, req);
      const described = options.describe ? options.describe(error, code) : { code, title: error.message };
      res.status(status).json(errorBody(described.code, described.title));
      return;
    }
    if (error?.type === 'entity.parse.failed') {
      res.status(400).json(errorBody(codes.BAD_USER_INPUT, 'The request body is not valid JSON'));
      return;
    }
    if (error?.type === 'entity.too.large') {
      res.status(413).json(errorBody(options.payloadTooLarge, `The request body exceeds the limit of ${options.bodyLimit}`));
      return;
    }
    if (typeof error?.status === 'number' && error.status >= 400 && error.status < 500) {
      res.status(error.status).json(errorBody(codes.BAD_USER_INPUT, 'The request is malformed'));
      return;
    }
    options.reportError(error, req);
    res.status(500).json(errorBody(codes.INTERNAL_SERVER_ERROR, 'Internal server error'));
  };
}
