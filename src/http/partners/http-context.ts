import type { Request, RequestHandler, Response } from 'express';
import { unauthenticated } from '../../domain/errors';
import type { Principal, RequestContext } from '../../app/request-context';

/** What these routers take from the HTTP app (a subset of its route helpers). */
export interface RouterHelpers {
  /** Holds a request until start-up is done (signing key created, read models caught up), or answers 503. */
  waitForStartup: RequestHandler;
  /** Charges a state-changing request to the client's address and, when given, the caller's credential; RATE_LIMITED when spent. */
  chargeMutation(req: Request, principalId: string | null): Promise<void>;
}

/** The request as commands see it; the principal is whatever `authenticate` makes of the bearer, if any. */
export function httpRequestContext(req: Request, res: Response, principal?: () => Promise<Principal>): RequestContext {
  return {
    requestId: res.locals.requestId as string,
    ip: req.ip ?? req.socket.remoteAddress,
    userAgent: req.get('user-agent') ?? undefined,
    principal: principal ?? (() => Promise.reject(unauthenticated('Authentication required'))),
  };
}

/** A header's value, or null when absent or blank. */
export function headerValue(req: Request, name: string): string | null {
  const value = req.get(name);
  return value === undefined || value.trim() === '' ? null : value.trim();
}
