import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';

/**
 * The baseline process: the gateway's HTTP stack (express 5, its JSON body parser, Apollo
 * Server 5 through @as-integrations/express5) with a one-field schema and nothing else, so
 * `{ __typename }` costs only the transport and GraphQL execution, and its memory is what that
 * stack needs at rest.
 */
async function serve(port: number, host: string): Promise<void> {
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
  process.once('SIGTERM', () => void apollo.stop().then(() => process.exit(0)));
}

if (require.main === module) {
  serve(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1').catch((error: unknown) => {
    process.stderr.write(`bare Apollo server failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
