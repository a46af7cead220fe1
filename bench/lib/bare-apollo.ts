import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { exitOnTerminationSignals, startServerProcess, type ServerProcess } from './server-process';

/**
 * The baseline for the HTTP benchmarks: the gateway's HTTP stack (express 5, its JSON body
 * parser, Apollo Server 5 through @as-integrations/express5) with a one-field schema and
 * nothing else, so `{ __typename }` costs only the transport and GraphQL execution.
 */
export async function serveBareApollo(port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const httpServer = createServer(app);
  const apollo = new ApolloServer({
    typeDefs: 'type Query { ok: Boolean! }',
    resolvers: { Query: { ok: () => true } },
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer })],
  });
  await apollo.start();
  app.get('/readyz', (_req, res) => {
    res.json({ status: 'ready' });
  });
  app.use('/graphql', express.json({ limit: '256kb' }), expressMiddleware(apollo));
  await new Promise<void>((resolve) => httpServer.listen(port, host, resolve));
  const address = httpServer.address();
  const listening = typeof address === 'object' && address ? address.port : port;
  return { url: `http://${host}:${listening}`, close: () => apollo.stop() };
}

/** Runs `dist/bench/lib/bare-apollo.js` as its own process, as the gateway is. */
export function startBareApollo(): Promise<ServerProcess> {
  return startServerProcess(__filename, { NODE_ENV: 'production' }, '/readyz');
}

if (require.main === module) {
  exitOnTerminationSignals();
  serveBareApollo(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1').catch((error: unknown) => {
    process.stderr.write(`bare Apollo server failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
