import { SignJWT } from 'jose';
import type { Clock } from '../../../src/app/clock';
import { graphql } from '../../helpers/graphql-client';
import { issueToken, ROOT_SECRET, type TestGateway } from '../../helpers/gateway';
import { expectNotWritten, uniqueTenant, VERIFY, wholeLogText } from './token-operations';

interface RestResponse {
  status: number;
  body: any;
  raw: string;
  headers: Headers;
}

/** The seed-compatible REST shape: /v2/apps/{appId}/integrations/{integrationId}/keys. */
export function describeIntegrationKeysRest(adapter: string, start: (options: { clock?: Clock }) => Promise<TestGateway>): void {
  describe(`integration keys over REST (${adapter})`, () => {
    let gw: TestGateway;
    const app = uniqueTenant('app');
    const otherApp = uniqueTenant('app-other');
    let admin: string;
    let reader: string;
    let otherAdmin: string;
    const keysPath = (appId = app, integrationId = '5e4b0f225aca01092928f917') => `/v2/apps/${appId}/integrations/${integrationId}/keys`;

    async function rest(method: string, path: string, bearer?: string, body?: unknown, rawBody?: string): Promise<RestResponse> {
      return restWith(method, path, bearer ? `Bearer ${bearer}` : undefined, body, rawBody);
    }

    async function restWith(method: string, path: string, authorization?: string, body?: unknown, rawBody?: string, contentType = 'application/json'): Promise<RestResponse> {
      const response = await fetch(`${gw.url}${path}`, {
        method,
        headers: { ...(authorization ? { authorization } : {}), ...(body !== undefined || rawBody ? { 'content-type': contentType } : {}) },
        body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const raw = await response.text();
      return { status: response.status, body: raw ? JSON.parse(raw) : null, raw, headers: response.headers };
    }

    beforeAll(async () => {
      gw = await start({});
      ({ secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: app, roles: ['keyledger:admin'] }));
      ({ secret: otherAdmin } = await issueToken(gw.url, ROOT_SECRET, { name: 'other', tenantId: otherApp, roles: ['keyledger:admin'] }));
      ({ secret: reader } = await issueToken(gw.url, admin, { name: 'reader', roles: ['keyledger:tokens:read'] }));
    });
    afterAll(async () => gw.stop());

    it('creates a key: 201 {key: {id, displayName, secret}}, not cacheable', async () => {
      const created = await rest('POST', keysPath(), admin, { displayName: 'My custom key' });
      expect(created.status).toBe(201);
      expect(Object.keys(created.body)).toEqual(['key']);
      expect(Object.keys(created.body.key).sort()).toEqual(['displayName', 'id', 'secret']);
      expect(created.body.key).toMatchObject({ displayName: 'My custom key', id: expect.stringMatching(/^tok_/), secret: expect.stringMatching(/^kli_/) });
      expect(created.headers.get('cache-control')).toBe('no-store');
    });

    it('lists, gets and deletes; a deleted key is gone and stops verifying', async () => {
      const integration = 'int-crud';
      const first = (await rest('POST', keysPath(app, integration), admin, { displayName: 'first' })).body.key;
      const second = (await rest('POST', keysPath(app, integration), admin, { displayName: 'second' })).body.key;
      const listed = await rest('GET', keysPath(app, integration), reader);
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual({ keys: [{ id: first.id, displayName: 'first' }, { id: second.id, displayName: 'second' }] });
      const got = await rest('GET', `${keysPath(app, integration)}/${first.id}`, reader);
      expect(got).toMatchObject({ status: 200, body: { key: { id: first.id, displayName: 'first' } } });
      expect(got.raw).not.toContain(first.secret);

      const deleted = await rest('DELETE', `${keysPath(app, integration)}/${first.id}`, admin);
      expect(deleted).toMatchObject({ status: 200, body: {} });
      expect((await rest('GET', `${keysPath(app, integration)}/${first.id}`, reader)).status).toBe(404);
      expect((await rest('DELETE', `${keysPath(app, integration)}/${first.id}`, admin)).status).toBe(404);
      expect((await rest('GET', keysPath(app, integration), reader)).body).toEqual({ keys: [{ id: second.id, displayName: 'second' }] });
      const verification = await graphql(gw.url, VERIFY, { token: first.secret }, reader);
      expect(verification.data!.verifyToken.code).toBe('REVOKED');
    });

    it('the created secret signs JWTs (kid = key id) and works as Basic auth with verifyToken', async () => {
      const key = (await rest('POST', keysPath(app, 'int-jwt'), admin, { displayName: 'signer' })).body.key;
      const jwt = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: key.id }).sign(new TextEncoder().encode(key.secret));
      for (const form of [jwt, `Basic ${Buffer.from(`${key.id}:${key.secret}`).toString('base64')}`]) {
        expect((await graphql(gw.url, VERIFY, { token: form }, reader)).data!.verifyToken).toMatchObject({ valid: true, code: 'VALID' });
      }
    });

    it('a key of another integration of the same app is 404 under this one', async () => {
      const key = (await rest('POST', keysPath(app, 'int-a'), admin, { displayName: 'a' })).body.key;
      expect((await rest('GET', `${keysPath(app, 'int-b')}/${key.id}`, reader)).status).toBe(404);
      expect((await rest('DELETE', `${keysPath(app, 'int-b')}/${key.id}`, admin)).status).toBe(404);
    });

    describe('errors, as JSON {errors: [{code, title}]}', () => {
      it('400 for a missing, empty or non-string displayName, invalid JSON, or a bad id in the path', async () => {
        for (const body of [{}, { displayName: '' }, { displayName: 42 }, []]) {
          const response = await rest('POST', keysPath(), admin, body);
          expect(response.status).toBe(400);
          expect(response.body.errors[0]).toMatchObject({ code: 'bad_request', title: expect.stringMatching(/displayName/) });
        }
        expect((await rest('POST', keysPath(), admin, 'just a string')).status).toBe(400);
        const badJson = await rest('POST', keysPath(), admin, undefined, '{"displayName": ');
        expect(badJson.status).toBe(400);
        expect(badJson.body.errors[0]).toEqual({ code: 'bad_request', title: 'The request body is not valid JSON' });
        expect((await rest('GET', keysPath(app, 'bad%20integration'), admin)).status).toBe(400);
      });

      it('401 without a bearer or with a bad one, with WWW-Authenticate naming both schemes the routes take', async () => {
        for (const bearer of [undefined, 'klt_nonsense']) {
          const response = await rest('GET', keysPath(), bearer);
          expect(response.status).toBe(401);
          expect(response.headers.get('www-authenticate')).toBe('Basic realm="keyledger", Bearer');
          expect(response.body.errors[0].code).toBe('unauthorized');
        }
        expect((await rest('POST', keysPath(), undefined, { displayName: 'x' })).status).toBe(401);
      });

      it('403 for a reader writing', async () => {
        const response = await rest('POST', keysPath(), reader, { displayName: 'x' });
        expect(response.status).toBe(403);
        expect(response.body.errors[0]).toMatchObject({ code: 'forbidden', title: expect.stringContaining('keyledger:tokens:write') });
      });

      it("404 for another tenant's app, whatever the method, and for an unknown key", async () => {
        const key = (await rest('POST', keysPath(), admin, { displayName: 'hidden' })).body.key;
        for (const [method, path] of [
          ['GET', keysPath()],
          ['POST', keysPath()],
          ['GET', `${keysPath()}/${key.id}`],
          ['DELETE', `${keysPath()}/${key.id}`],
        ]) {
          const response = await rest(method, path, otherAdmin, method === 'POST' ? { displayName: 'x' } : undefined);
          expect(response.status).toBe(404);
          expect(response.body.errors[0].code).toBe('not_found');
        }
        expect((await rest('GET', `${keysPath()}/${key.id}`, admin)).status).toBe(200);
        expect((await rest('GET', `${keysPath()}/tok_0000000000000000000000`, admin)).status).toBe(404);
      });

      it('409 beyond 10 active keys per integration', async () => {
        for (let i = 0; i < 10; i++) expect((await rest('POST', keysPath(app, 'int-full'), admin, { displayName: `k${i}` })).status).toBe(201);
        const response = await rest('POST', keysPath(app, 'int-full'), admin, { displayName: 'k10' });
        expect(response.status).toBe(409);
        expect(response.body.errors[0]).toMatchObject({ code: 'conflict', title: expect.stringMatching(/10 active keys/) });
      });

      it('405 for an unsupported method, with Allow naming the methods the path takes', async () => {
        const collection = await rest('PUT', keysPath(), admin, { displayName: 'x' });
        expect(collection.status).toBe(405);
        expect(collection.headers.get('allow')).toBe('GET, HEAD, POST');
        const item = await rest('PUT', `${keysPath()}/tok_0000000000000000000000`, admin, { displayName: 'x' });
        expect(item.status).toBe(405);
        expect(item.headers.get('allow')).toBe('GET, HEAD, DELETE');
        expect(item.body.errors[0].code).toBe('method_not_allowed');
      });

      it('400 naming the content type for a JSON body sent as text/plain, not a missing field', async () => {
        const response = await restWith('POST', keysPath(), `Bearer ${admin}`, undefined, '{"displayName": "My custom key"}', 'text/plain');
        expect(response.status).toBe(400);
        expect(response.body.errors[0]).toEqual({ code: 'bad_request', title: expect.stringContaining('Content-Type: application/json') });
        expect(response.body.errors[0].title).not.toMatch(/displayName/);
      });
    });

    describe('Sunshine credentials: the key itself, as HTTP Basic keyId:secret or an app-scoped HS256 JWT', () => {
      const integration = 'int-sunshine';
      const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
      const jwtOf = (id: string, secret: string, payload: Record<string, unknown> = { scope: 'app' }) =>
        new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: id }).sign(new TextEncoder().encode(secret));
      let manager: { id: string; secret: string };

      beforeAll(async () => {
        const issued = await issueToken(gw.url, admin, { name: 'manager key', kind: 'INTEGRATION_KEY', integrationId: integration, roles: ['keyledger:tokens:write'] });
        manager = { id: issued.id, secret: issued.secret };
      });

      it('a key holding keyledger:tokens:write creates, lists, reads and deletes keys with Basic or its JWT', async () => {
        const created = await restWith('POST', keysPath(app, integration), basic(manager.id, manager.secret), { displayName: 'My custom key' });
        expect(created.status).toBe(201);
        expect(created.body.key).toMatchObject({ displayName: 'My custom key', id: expect.stringMatching(/^tok_/), secret: expect.stringMatching(/^kli_/) });
        const jwt = `Bearer ${await jwtOf(manager.id, manager.secret)}`;
        const listed = await restWith('GET', keysPath(app, integration), jwt);
        expect(listed.status).toBe(200);
        expect(listed.body.keys).toContainEqual({ id: created.body.key.id, displayName: 'My custom key' });
        expect((await restWith('GET', `${keysPath(app, integration)}/${created.body.key.id}`, jwt)).status).toBe(200);
        expect((await restWith('DELETE', `${keysPath(app, integration)}/${created.body.key.id}`, jwt)).status).toBe(200);
      });

      it('the key acts with its own roles: a key without keyledger roles is 403, in another app 404', async () => {
        const plain = (await rest('POST', keysPath(app, 'int-plain'), admin, { displayName: 'plain' })).body.key;
        for (const authorization of [basic(plain.id, plain.secret), `Bearer ${await jwtOf(plain.id, plain.secret)}`]) {
          const response = await restWith('GET', keysPath(app, 'int-plain'), authorization);
          expect(response.status).toBe(403);
          expect(response.body.errors[0]).toMatchObject({ code: 'forbidden', title: expect.stringContaining('keyledger:tokens:read') });
        }
        const elsewhere = await restWith('GET', keysPath(otherApp, integration), basic(manager.id, manager.secret));
        expect(elsewhere.status).toBe(404);
      });

      it('401 for a wrong secret, a JWT without scope app, a JWT signed with another secret, a revoked key; never on /graphql', async () => {
        const doomed = await issueToken(gw.url, admin, { name: 'doomed key', kind: 'INTEGRATION_KEY', integrationId: 'int-doomed', roles: ['keyledger:tokens:read'] });
        expect((await restWith('GET', keysPath(app, 'int-doomed'), basic(doomed.id, doomed.secret))).status).toBe(200);
        const refused = [
          basic(manager.id, `${manager.secret}x`),
          basic(manager.id, doomed.secret),
          `Bearer ${await jwtOf(manager.id, manager.secret, { scope: 'appUser', userId: 'u1' })}`,
          `Bearer ${await jwtOf(manager.id, manager.secret, {})}`,
          `Bearer ${await jwtOf(manager.id, doomed.secret)}`,
          'Basic not base64!',
        ];
        for (const authorization of refused) {
          const response = await restWith('GET', keysPath(app, integration), authorization);
          expect(response.status).toBe(401);
          expect(response.body.errors[0].code).toBe('unauthorized');
          expect(response.raw).not.toContain(manager.secret);
        }
        const scopeless = await restWith('GET', keysPath(app, integration), `Bearer ${await jwtOf(manager.id, manager.secret, {})}`);
        expect(scopeless.body.errors[0].title).toMatch(/scope: "app"/);
        await graphql(gw.url, `mutation { revokeToken(input: {id: "${doomed.id}"}) { id } }`, {}, admin);
        const revoked = await restWith('GET', keysPath(app, 'int-doomed'), basic(doomed.id, doomed.secret));
        expect(revoked.status).toBe(401);
        expect(revoked.body.errors[0].title).toMatch(/revoked/);
        const onGraphql = await fetch(`${gw.url}/graphql`, {
          method: 'POST',
          headers: { authorization: basic(manager.id, manager.secret), 'content-type': 'application/json' },
          body: JSON.stringify({ query: '{ viewer { id } }' }),
        });
        expect(JSON.stringify(await onGraphql.json())).toContain('UNAUTHENTICATED');
      });
    });

    it('root may manage keys of any app', async () => {
      const created = await rest('POST', keysPath(otherApp, 'int-root'), ROOT_SECRET, { displayName: 'by root' });
      expect(created.status).toBe(201);
      expect((await rest('GET', keysPath(otherApp, 'int-root'), otherAdmin)).body.keys).toEqual([{ id: created.body.key.id, displayName: 'by root' }]);
    });

    it('the secret is in no event, no later response and no log line', async () => {
      const key = (await rest('POST', keysPath(app, 'int-quiet'), admin, { displayName: 'quiet' })).body.key;
      const list = await rest('GET', keysPath(app, 'int-quiet'), admin);
      expect(list.raw).not.toContain(key.secret);
      expectNotWritten(await wholeLogText(gw), key.secret);
      expect(gw.logs()).not.toContain(key.secret);
    });
  });
}
