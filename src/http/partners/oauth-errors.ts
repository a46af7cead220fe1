import type { Response } from 'express';

/** RFC 6749 §5.2 error codes, plus RFC 7009's and RFC 6750's where those endpoints need them. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error';

/** An error an OAuth endpoint answers with: status, RFC error code, and a description safe to show. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

export const BASIC_CHALLENGE = 'Basic realm="keyledger", charset="UTF-8"';

export const invalidRequest = (description: string) => new OAuthError(400, 'invalid_request', description);
/** HTTP requires a challenge on every 401 (RFC 9110 §15.5.2); Basic is the scheme clients authenticate with. */
export const invalidClient = (description = 'Client authentication failed') =>
  new OAuthError(401, 'invalid_client', description, { 'www-authenticate': BASIC_CHALLENGE });

export function sendOAuthError(res: Response, error: OAuthError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('pragma', 'no-cache');
  res.status(error.status).json({ error: error.error, error_description: error.description });
}
