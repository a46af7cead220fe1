import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import { SSF_PATHS, type SsfStreams } from '../../app/ssf/ssf-streams';
import { KeyledgerError } from '../../domain/errors';
import type { RouteHelpers } from '../app';
import { HTTP_STATUS, requireJsonBody } from '../rest-errors';

export { SSF_PATHS };

export interface SsfRouterOptions {
  streams: SsfStreams;
  bodyLimit: string;
  reportError(error: unknown, req: Request): void;
}

const queryStreamId = (req: Request) => (typeof req.query.stream_id === 'string' ? req.query.stream_id : undefined);

/**
 * The Shared Signals Framework transmitter: its metadata, the stream management endpoints
 * (create, read, update, replace, delete; status; verification) and RFC 8936 polling, for
 * receivers that authenticate with a bearer holding keyledger:events:read.
 */
export const ssfRouter = (options: SsfRouterOptions) => (helpers: RouteHelpers): Router => {
  const router = express.Router();
  const { streams } = options;
  const json = [requireJsonBody, express.json({ limit: options.bodyLimit, strict: false })];
  const route =
    (handle: (req: Request, res: Response) => Promise<void>): RequestHandler =>
    async (req, res, next) => {
      try {
        await handle(req, res);
      } catch (error) {
        next(error);
      }
    };
  const ctx = (req: Request, res: Response) => helpers.contextOf(req, res);

  router.get(SSF_PATHS.configuration, helpers.waitForStartup, (_req, res) => {
    res.setHeader('cache-control', 'public, max-age=3600');
    res.json(streams.configuration());
  });

  router.post(SSF_PATHS.streams, helpers.waitForStartup, helpers.limitMutation, ...json, route(async (req, res) => {
    res.status(201).json(await streams.create(ctx(req, res), req.body));
  }));
  router.get(SSF_PATHS.streams, helpers.waitForStartup, route(async (req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json(await streams.read(ctx(req, res), queryStreamId(req)));
  }));
  router.patch(SSF_PATHS.streams, helpers.waitForStartup, helpers.limitMutation, ...json, route(async (req, res) => {
    res.json(await streams.update(ctx(req, res), req.body, false));
  }));
  router.put(SSF_PATHS.streams, helpers.waitForStartup, helpers.limitMutation, ...json, route(async (req, res) => {
    res.json(await streams.update(ctx(req, res), req.body, true));
  }));
  router.delete(SSF_PATHS.streams, helpers.waitForStartup, helpers.limitMutation, route(async (req, res) => {
    await streams.remove(ctx(req, res), queryStreamId(req));
    res.status(204).end();
  }));

  router.get(SSF_PATHS.status, helpers.waitForStartup, route(async (req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json(await streams.status(ctx(req, res), queryStreamId(req)));
  }));
  router.post(SSF_PATHS.status, helpers.waitForStartup, helpers.limitMutation, ...json, route(async (req, res) => {
    res.json(await streams.setStatus(ctx(req, res), req.body));
  }));
  router.post(SSF_PATHS.verify, helpers.waitForStartup, helpers.limitMutation, ...json, route(async (req, res) => {
    await streams.verify(ctx(req, res), req.body);
    res.status(204).end();
  }));

  router.post(SSF_PATHS.poll, helpers.waitForStartup, helpers.limitMutation, ...json, route(async (req, res) => {
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    const answer = await streams.poll(ctx(req, res), String(req.params.streamId), req.body, gone.signal);
    res.setHeader('cache-control', 'no-store');
    res.json(answer);
  }));

  const errors: ErrorRequestHandler = (error, req, res, _next) => {
    if (error instanceof KeyledgerError) {
      if (error.code === 'UNAUTHENTICATED') res.setHeader('www-authenticate', 'Bearer');
      if (error.code === 'RATE_LIMITED' && typeof error.details.retryAfter === 'number') res.setHeader('retry-after', String(error.details.retryAfter));
      if (error.code === 'INTERNAL_SERVER_ERROR') options.reportError(error, req);
      const retryAfter = error.code === 'RATE_LIMITED' ? { retryAfter: error.details.retryAfter } : {};
      res.status(HTTP_STATUS[error.code] ?? 500).json({ errors: [{ message: error.message, extensions: { code: error.code, ...retryAfter } }] });
      return;
    }
    const status = typeof error?.status === 'number' ? (error.status as number) : 500;
    if (status === 413) {
      res.status(413).json({ errors: [{ message: `The request body exceeds the limit of ${options.bodyLimit}`, extensions: { code: 'BAD_USER_INPUT' } }] });
      return;
    }
    if (status >= 400 && status < 500) {
      const message = error?.type === 'entity.parse.failed' ? 'The request body is not valid JSON' : 'The request is malformed';
      res.status(status === 415 ? 415 : 400).json({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] });
      return;
    }
    options.reportError(error, req);
    res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };
  router.use([SSF_PATHS.streams, SSF_PATHS.status, SSF_PATHS.verify, SSF_PATHS.poll], errors);
  return router;
};
