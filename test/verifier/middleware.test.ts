import { createServer, IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createVerifier, type Verifier } from '@keyledger/verifier';
import { requireCredential as expressCredential } from '@keyledger/verifier/express';
import { requireCredential as fastifyCredential } from '@keyledger/verifier/fastify';
import { requireCredential as honoCredential } from '@keyledger/verifier/hono';
import express from 'express';
import Fastify, { type preHandlerHookHandler } from 'fastify';
import { Hono } from 'hono';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet } from '../helpers/gateway-process';
import { graphql, REVOKE_TOKEN } from '../helpers/graphql-client';
import { waitForSubscriptions } from '../helpers/subscriptions';
import { VerifierEvents } from '../helpers/verifier-events';

const ROUTE_ROLES = ['orders:read'];

/**
 * Requests whose route stage before the middleware has returned from handing them on. The
 * `/orders/at-once` route of each server answers whether its handler ran before that, that is
 * whether the middleware went on within the same call instead of after a promise.
 */
const returned = new WeakSet<object>();

/** A resource server with one protected route, `/orders`, answering the verdict's token id. */
interface ResourceServer {
  url: string;
  close(): Promise<void>;
}

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const FRAMEWORKS: Record<string, (verifier: Verifier) => Promise<ResourceServer>> = {
  async express(verifier) {
    const app = express();
    app.get('/orders', expressCredential(verifier, { requiredRoles: ROUTE_ROLES }), (req, res) => {
      res.json({ tokenId: req.keyledger!.tokenId });
    });
    app.get(
      '/orders/at-once',
      (req, _res, next) => {
        next();
        returned.add(req);
      },
      expressCredential(verifier, { requiredRoles: ROUTE_ROLES }),
      (req, res) => {
        res.json({ atOnce: !returned.has(req), tokenId: req.keyledger!.tokenId });
      },
    );
    const server = createServer(app).listen(0, '127.0.0.1');
    return { url: await listening(server), close: () => new Promise((resolve) => server.close(() => resolve())) };
  },
  async fastify(verifier) {
    const app = Fastify();
    app.get('/orders', { preHandler: fastifyCredential(verifier, { requiredRoles: ROUTE_ROLES }) }, async (request) => ({
      tokenId: request.keyledger!.tokenId,
    }));
    const handOn: preHandlerHookHandler = (request, _reply, done) => {
      done();
      returned.add(request);
    };
    app.get('/orders/at-once', { preHandler: [handOn, fastifyCredential(verifier, { requiredRoles: ROUTE_ROLES })] }, async (request) => ({
      atOnce: !returned.has(request),
      tokenId: request.keyledger!.tokenId,
    }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  },
  async hono(verifier) {
    const app = new Hono();
    app.get('/orders', honoCredential(verifier, { requiredRoles: ROUTE_ROLES }), (c) => c.json({ tokenId: c.get('keyledger').tokenId }));
    app.get(
      '/orders/at-once',
      async (c, next) => {
        const handedOn = next();
        returned.add(c);
        await handedOn;
      },
      honoCredential(verifier, { requiredRoles: ROUTE_ROLES }),
      (c) => c.json({ atOnce: !returned.has(c), tokenId: c.get('keyledger').tokenId }),
    );
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    return { url: await listening(server), close: () => new Promise((resolve) => server.close(() => resolve())) };
  },
};

/**
 * `requireCredential` under each framework, against a real gateway process: 401 with a
 * Bearer challenge, 403 for missing roles, the verdict on the request otherwise.
 */
describe('requireCredential middleware', () => {
  const fleet = new GatewayFleet('keyledger-middleware');
  let gatewayUrl: string;
  let verifier: Verifier;
  const events = new VerifierEvents();
  let reader: { secret: string; id: string };
  let roleless: { secret: string; id: string };

  beforeAll(async () => {
    const gateway = await fleet.start(fleet.tempDir());
    gatewayUrl = gateway.url;
    const subscriber = await issueToken(gatewayUrl, ROOT_SECRET, { name: 'resource server', tenantId: 'acme', roles: ['keyledger:tokens:read'] });
    verifier = createVerifier({ url: gatewayUrl, token: subscriber.secret, metrics: events.metrics });
    await verifier.ready();
    await waitForSubscriptions(gatewayUrl, 1);
    reader = await issueToken(gatewayUrl, ROOT_SECRET, { name: 'reader', tenantId: 'acme', roles: ['orders:read'] });
    roleless = await issueToken(gatewayUrl, ROOT_SECRET, { name: 'roleless', tenantId: 'acme', roles: [] });
  }, 90_000);

  afterAll(async () => {
    await verifier?.close();
    await fleet.stop();
  });

  describe.each(Object.keys(FRAMEWORKS))('%s', (framework) => {
    let server: ResourceServer;
    const get = (authorization?: string) => fetch(`${server.url}/orders`, { headers: authorization ? { authorization } : {} });

    beforeAll(async () => {
      server = await FRAMEWORKS[framework](verifier);
    });
    afterAll(() => server?.close());

    it('answers 401 with a Bearer challenge when no bearer credential is presented', async () => {
      for (const authorization of [undefined, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer']) {
        const response = await get(authorization);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="keyledger"$/);
      }
    });

    it('answers 401 invalid_token for a credential keyledger refuses', async () => {
      const response = await get('Bearer not-a-keyledger-token');
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="keyledger", error="invalid_token"');
      expect(await response.json()).toEqual({ error: 'invalid_token', code: 'NOT_FOUND' });
    });

    it('answers 403 insufficient_scope when the credential lacks the route roles', async () => {
      const response = await get(`Bearer ${roleless.secret}`);
      expect(response.status).toBe(403);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="keyledger", error="insufficient_scope", scope="orders:read"');
      expect(await response.json()).toEqual({ error: 'insufficient_scope', code: 'INSUFFICIENT_ROLES' });
    });

    it('lets a credential holding the roles through, with the verdict on the request', async () => {
      const response = await get(`Bearer ${reader.secret}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ tokenId: reader.id });
    });

    it('hands a request whose verdict is cached on at once, not after a promise', async () => {
      await verifier.verify(reader.secret);
      const response = await fetch(`${server.url}/orders/at-once`, { headers: { authorization: `Bearer ${reader.secret}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ atOnce: true, tokenId: reader.id });
    });
  });

  it('express: req.keyledger reads and assigns as a property would, without becoming one of the request\'s own', async () => {
    // Express sets a prototype on each request, after which V8 builds a hidden class for every
    // property added to that one request: the verdict is kept off the request's own properties.
    const app = express();
    app.get('/orders', expressCredential(verifier, { requiredRoles: ROUTE_ROLES }), (req, res) => {
      const seen = { own: Object.prototype.hasOwnProperty.call(req, 'keyledger'), listed: Object.keys(req).includes('keyledger'), tokenId: req.keyledger!.tokenId };
      req.keyledger = { ...req.keyledger!, tokenId: 'assigned by the route' };
      res.json({ ...seen, assigned: req.keyledger.tokenId, ownAfter: Object.prototype.hasOwnProperty.call(req, 'keyledger') });
    });
    app.get('/open', (req, res) => {
      res.json({ keyledger: req.keyledger ?? null });
    });
    // A sub-app gives the request its own prototype: the verdict set before it is still seen.
    const orders = express();
    orders.get('/mine', (req, res) => {
      res.json({ tokenId: req.keyledger?.tokenId ?? null });
    });
    app.use('/sub', expressCredential(verifier, { requiredRoles: ROUTE_ROLES }), orders);
    const server = createServer(app).listen(0, '127.0.0.1');
    try {
      const url = await listening(server);
      const response = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${reader.secret}` } });
      expect(await response.json()).toEqual({ own: false, listed: false, tokenId: reader.id, assigned: 'assigned by the route', ownAfter: false });
      // The accessor is express's (`express.request`), never Node's own prototype.
      expect(Object.getOwnPropertyDescriptor(express.request, 'keyledger')?.get).toBeInstanceOf(Function);
      expect(Object.getOwnPropertyDescriptor(IncomingMessage.prototype, 'keyledger')).toBeUndefined();
      // Another request, and one on a route without the middleware, see no verdict of an earlier one.
      expect(await (await fetch(`${url}/open`, { headers: { authorization: `Bearer ${reader.secret}` } })).json()).toEqual({ keyledger: null });
      expect((await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${roleless.secret}` } })).status).toBe(403);
      expect(await (await fetch(`${url}/sub/mine`, { headers: { authorization: `Bearer ${reader.secret}` } })).json()).toEqual({ tokenId: reader.id });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers verifyNow as it is from the cache, and with a promise when keyledger must be asked', async () => {
    const token = await issueToken(gatewayUrl, ROOT_SECRET, { name: 'now', tenantId: 'acme', roles: ['orders:read'] });
    const asked = verifier.verifyNow(token.secret, { requiredRoles: ROUTE_ROLES });
    expect(asked).toBeInstanceOf(Promise);
    expect(await asked).toMatchObject({ valid: true, code: 'VALID', tokenId: token.id });
    const cached = verifier.verifyNow(token.secret, { requiredRoles: ROUTE_ROLES });
    expect(cached).not.toBeInstanceOf(Promise);
    expect(cached).toMatchObject({ valid: true, code: 'VALID', tokenId: token.id, roles: ['orders:read'] });
    expect(verifier.verifyNow(token.secret, { requiredRoles: ['orders:write'] })).toMatchObject({ valid: false, code: 'INSUFFICIENT_ROLES' });
    // From JavaScript, any iterable of roles is checked, a Set as well as an array.
    const asSet = new Set(['orders:write']) as unknown as string[];
    expect(verifier.verifyNow(token.secret, { requiredRoles: asSet })).toMatchObject({ valid: false, code: 'INSUFFICIENT_ROLES' });
    expect(events.hits.slice(-2)).toEqual(['VALID', 'VALID']);
  });

  it('refuses at every framework a token once the notice of its revocation has arrived', async () => {
    const token = await issueToken(gatewayUrl, ROOT_SECRET, { name: 'soon revoked', tenantId: 'acme', roles: ['orders:read'] });
    const servers = await Promise.all(Object.values(FRAMEWORKS).map((start) => start(verifier)));
    try {
      for (const server of servers) expect((await fetch(`${server.url}/orders`, { headers: { authorization: `Bearer ${token.secret}` } })).status).toBe(200);
      const response = await graphql(gatewayUrl, REVOKE_TOKEN, { input: { id: token.id, reason: 'test' } }, ROOT_SECRET);
      expect(response.errors).toBeUndefined();
      await events.notice(token.id);
      for (const server of servers) {
        const refused = await fetch(`${server.url}/orders`, { headers: { authorization: `Bearer ${token.secret}` } });
        expect(refused.status).toBe(401);
        expect(await refused.json()).toEqual({ error: 'invalid_token', code: 'REVOKED' });
      }
    } finally {
      await Promise.all(servers.map((server) => server.close()));
    }
  }, 60_000);
});
