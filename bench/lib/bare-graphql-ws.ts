import { randomUUID } from 'node:crypto';
import { EventEmitter, on } from 'node:events';
import { createServer } from 'node:http';
import { GraphQLBoolean, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { exitOnTerminationSignals, startServerProcess, type ServerProcess } from './server-process';

const NOTICE = 'notice';
interface Notice {
  tokenId: string;
  tenantId: string;
  kind: string;
  reason: string | null;
  effectiveAt: string;
  actor: { type: string; id: string };
  eventId: string;
  position: string;
}

const text = { type: new GraphQLNonNull(GraphQLString) };
const NoticeType = new GraphQLObjectType({
  name: 'RevocationNotice',
  fields: {
    tokenId: text,
    tenantId: text,
    kind: text,
    reason: { type: GraphQLString },
    effectiveAt: text,
    actor: { type: new GraphQLNonNull(new GraphQLObjectType({ name: 'NoticeActor', fields: { type: text, id: text } })) },
    eventId: text,
    position: text,
  },
});

/** `tokenRevoked` streams the emitter's notices (`on` yields each emit's arguments as an array). */
function schemaOf(notices: EventEmitter): GraphQLSchema {
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: new GraphQLNonNull(GraphQLBoolean), resolve: () => true } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        tokenRevoked: {
          type: new GraphQLNonNull(NoticeType),
          subscribe: () => on(notices, NOTICE),
          resolve: ([notice]: [Notice]) => notice,
        },
      },
    }),
  });
}

/**
 * The transport floor for the revocation fan-out: the gateway's WebSocket stack (`ws` and
 * `graphql-ws` on an HTTP server's `/graphql`) with an in-memory pub/sub and no store, no
 * authentication and no filtering. `POST /publish?tokenId=…` broadcasts one notice to every
 * subscriber, then answers 204; `GET /subscriptions` counts the live subscriptions.
 */
export async function serveBareGraphqlWs(port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const notices = new EventEmitter();
  notices.setMaxListeners(0);
  let position = 0;
  const httpServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/publish') {
      const tokenId = url.searchParams.get('tokenId') ?? randomUUID();
      const notice: Notice = {
        tokenId,
        tenantId: 'bench',
        kind: 'REVOKED',
        reason: null,
        effectiveAt: new Date().toISOString(),
        actor: { type: 'TOKEN', id: 'bench' },
        eventId: randomUUID(),
        position: String(++position),
      };
      notices.emit(NOTICE, notice);
      res.writeHead(204).end();
    } else if (req.method === 'GET' && url.pathname === '/subscriptions') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ subscriptions: notices.listenerCount(NOTICE) }));
    } else if (req.method === 'GET' && url.pathname === '/readyz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const graphqlWs = useServer({ schema: schemaOf(notices) }, wss);
  await new Promise<void>((resolve) => httpServer.listen(port, host, resolve));
  const address = httpServer.address();
  const listening = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host}:${listening}`,
    async close() {
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** The live subscriptions a bare graphql-ws server at `url` counts. */
export async function bareSubscriptionCount(url: string): Promise<number> {
  return ((await (await fetch(`${url}/subscriptions`)).json()) as { subscriptions: number }).subscriptions;
}

/** Has the bare graphql-ws server at `url` broadcast the notice for `tokenId`; resolves once it has answered. */
export async function publishBareNotice(url: string, tokenId: string): Promise<void> {
  const response = await fetch(`${url}/publish?tokenId=${encodeURIComponent(tokenId)}`, { method: 'POST' });
  await response.arrayBuffer();
  if (response.status !== 204) throw new Error(`publish answered HTTP ${response.status}`);
}

/** Runs `dist/bench/lib/bare-graphql-ws.js` as its own process, as the gateway is. */
export function startBareGraphqlWs(): Promise<ServerProcess> {
  return startServerProcess(__filename, { NODE_ENV: 'production' }, '/readyz');
}

if (require.main === module) {
  exitOnTerminationSignals();
  serveBareGraphqlWs(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1').catch((error: unknown) => {
    process.stderr.write(`bare graphql-ws server failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
