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
      const response = await fetch(`${gw.url}${path}`, {
        method,
        headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined || rawBody ? { 'content-type': 'application/json' } : {}) },
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

      it('401 without a bearer or with a bad one, with WWW-Authenticate', async () => {
        for (const bearer of [undefined, 'klt_nonsense']) {
          const response = await rest('GET', keysPath(), bearer);
          expect(response.status).toBe(401);
          expect(response.headers.get('www-authenticate')).toBe('Bearer');
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

      it('405 for an unsupported method', async () => {
        expect((await rest('PUT', keysPath(), admin, { displayName: 'x' })).status).toBe(405);
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
