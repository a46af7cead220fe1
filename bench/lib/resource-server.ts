import { createServer } from 'node:http';
import { createVerifier, type Verifier } from '@keyledger/verifier';
import { requireCredential } from '@keyledger/verifier/express';
import express from 'express';
import { exitOnTerminationSignals, startServerProcess, type ServerProcess } from './server-process';

/**
 * A resource server as a keyledger customer would write it: express 5, one `POST /graphql`
 * route answering a small JSON body. With `KEYLEDGER_URL` set, the route is behind
 * `requireCredential` of @keyledger/verifier; without, it is open. Both variants are the same
 * code otherwise (same settings, same handler, same response bytes), so their throughput
 * ratio is the middleware's cost.
 */
export async function serveResource(
  port: number,
  host: string,
  keyledger: { url: string; token: string } | null,
): Promise<{ url: string; close(): Promise<void> }> {
  let verifier: Verifier | null = null;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.get('/readyz', (_req, res) => {
    res.json({ status: 'ready' });
  });
  const guard: express.RequestHandler[] = [];
  if (keyledger) {
    verifier = createVerifier({ url: keyledger.url, token: keyledger.token });
    await verifier.ready();
    guard.push(requireCredential(verifier, { requiredRoles: ['orders:read'] }));
  }
  app.post('/graphql', ...guard, (_req, res) => {
    res.json({ ok: true });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await verifier?.close();
    },
  };
}

/** Runs `dist/bench/lib/resource-server.js` as its own process; with `keyledger`, behind the middleware. */
export function startResourceServer(keyledger: { url: string; token: string } | null): Promise<ServerProcess> {
  const env: Record<string, string> = { NODE_ENV: 'production' };
  if (keyledger) Object.assign(env, { KEYLEDGER_URL: keyledger.url, KEYLEDGER_TOKEN: keyledger.token });
  return startServerProcess(__filename, env, '/readyz');
}

if (require.main === module) {
  exitOnTerminationSignals();
  const url = process.env.KEYLEDGER_URL;
  const token = process.env.KEYLEDGER_TOKEN;
  serveResource(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1', url && token ? { url, token } : null).catch((error: unknown) => {
    process.stderr.write(`resource server failed: ${String(error)}\n`);
    process.exit(1);
  });
}
