import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type RequestHandler, type Router } from 'express';

export const CONSOLE_PATH = '/console';

/**
 * Where `npm run build` puts the console: dist/console, beside the compiled gateway
 * (dist/src/http). Run from the TypeScript sources, as the tests do, it is found in dist too.
 */
export const CONSOLE_DIR =
  [join(__dirname, '../../console'), join(__dirname, '../../dist/console')].find((dir) => existsSync(join(dir, 'index.html'))) ??
  join(__dirname, '../../console');

/**
 * The console's own scripts and styles only; nothing inline, no eval, no framing. Its
 * requests go to this origin alone (`'self'` covers the same-origin WebSocket). Avatar
 * previews are the one exception: a person types an https URL to see the image it names.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('content-security-policy', CONSOLE_CSP);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
  res.setHeader('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()');
  next();
};

export interface ConsoleRouterOptions {
  /** The built console; defaults to the one `npm run build` writes. */
  directory?: string;
}

/**
 * `GET /console`: the browser console, a client of the public GraphQL API. Its page is never
 * cached (it names the current assets); the assets are named by their content hash, so a
 * browser may keep them for good.
 */
export const consoleRouter = (options: ConsoleRouterOptions = {}) => (): Router => {
  const directory = options.directory ?? CONSOLE_DIR;
  const router = express.Router();
  router.use(CONSOLE_PATH, securityHeaders);
  router.use(
    `${CONSOLE_PATH}/assets`,
    express.static(join(directory, 'assets'), {
      index: false,
      redirect: false,
      immutable: true,
      maxAge: '365d',
    }),
  );
  const page: RequestHandler = (_req, res) => {
    const index = join(directory, 'index.html');
    if (!existsSync(index)) {
      res.status(404).type('text/plain').send('The console is not built: run npm run build');
      return;
    }
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(index);
  };
  // Routing is not strict, so this serves `/console/` too.
  router.get(CONSOLE_PATH, page);
  return router;
};
