import { createHmac } from 'node:crypto';
import { decodeJwt } from 'jose';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { graphql } from '../helpers/graphql-client';
import { createPartnerCredential } from '../helpers/partner-client';

/**
 * Each replaced system's documentation, replayed as written (method, path, headers,
 * authentication, body) against a keyledger process: only the host changes. The expected
 * bodies are the documents' own examples; values differ (ids, secrets, times), so bodies are
 * compared by shape: the same keys, at the same places, holding the same JSON types.
 */

type Shape = string | Shape[] | { [key: string]: Shape };

function shapeOf(value: unknown): Shape {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, inner]) => [key, shapeOf(inner)]));
  }
  return value === null ? 'null' : typeof value;
}

interface Answer {
  status: number;
  body: unknown;
  raw: string;
  headers: Headers;
}

async function send(gateway: GatewayProcess, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const response = await fetch(`${gateway.url}${path}`, { method, headers, body });
  const raw = await response.text();
  return { status: response.status, body: raw ? JSON.parse(raw) : null, raw, headers: response.headers };
}

/** `curl -u 'user:password'`. */
const curlBasic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the source systems, as their documents call them, against a keyledger process', () => {
  const fleet = new GatewayFleet('source-documents');
  let gateway: GatewayProcess;

  beforeAll(async () => {
    // A low per-caller budget on the connections routes, so the document's 429 can be replayed.
    gateway = await fleet.start(fleet.tempDir(), { KEYLEDGER_CONNECTIONS_REST_RATE_LIMIT: '20' });
  }, 60_000);
  afterAll(() => fleet.stop());

  describe('Sunshine Conversations: Create Integration Key', () => {
    /** The document's example response. */
    const DOCUMENTED_201 = { key: { id: 'int_5e4b0f225aca01092928f917', displayName: 'Duis', secret: 'Ck1LjzzlUzvlCTtqAdQ2z1QukuBTrN3TIx' } };
    const appId = 'sunshine-app';
    const integrationId = '5e4b0f225aca01092928f917';
    const path = `/v2/apps/${appId}/integrations/${integrationId}/keys`;
    const documentedBody = '{\n    "displayName": "My custom key"\n}';

    it('curl -X POST -u keyId:secret -H "Content-Type: application/json" -d {displayName}: 201 in the documented shape', async () => {
      const manager = await issueToken(gateway.url, ROOT_SECRET, {
        name: 'app key',
        tenantId: appId,
        kind: 'INTEGRATION_KEY',
        integrationId,
        roles: ['keyledger:tokens:write'],
      });
      const created = await send(gateway, 'POST', path, { authorization: curlBasic(manager.id, manager.secret), 'Content-Type': 'application/json' }, documentedBody);
      expect(created.status).toBe(201);
      expect(shapeOf(created.body)).toEqual(shapeOf(DOCUMENTED_201));
      expect(created.body).toMatchObject({ key: { displayName: 'My custom key' } });
    });

    it('the Postman request, Authorization: Bearer <token> with a JWT the key signed (scope: app): 201 in the documented shape', async () => {
      const manager = await issueToken(gateway.url, ROOT_SECRET, {
        name: 'jwt key',
        tenantId: appId,
        kind: 'INTEGRATION_KEY',
        integrationId: 'jwt-integration',
        roles: ['keyledger:tokens:write'],
      });
      const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: manager.id })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ scope: 'app' })).toString('base64url');
      const signature = createHmac('sha256', manager.secret).update(`${header}.${payload}`).digest('base64url');
      const created = await send(
        gateway,
        'POST',
        `/v2/apps/${appId}/integrations/jwt-integration/keys`,
        { Authorization: `Bearer ${header}.${payload}.${signature}`, 'Content-Type': 'application/json' },
        documentedBody,
      );
      expect(created.status).toBe(201);
      expect(shapeOf(created.body)).toEqual(shapeOf(DOCUMENTED_201));
    });
  });

  describe('Zipteams: Auth Token API', () => {
    const DOCUMENTED_200 = {
      code: 'RESPONSE_SUCCESS',
      message: 'Request served successfully.',
      type: 'object',
      data: {
        token:
          'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0ZW5hbnRJZCI6InRlbmFudElkIiwic3ViVGVuYW50SWQiOiJzdWJUZW5hbnRJZCIsImlhdCI6MTYxNjc2MjIwMCwiZXhwIjoxNjE2ODQ4NjAwfQ.example-token-signature',
      },
    };
    const path = '/api/v1/partner/dashboard/auth/token';

    it("curl --location with x-sub-tenant-id, x-tenant-id, x-api-key, x-api-secret: the documented body, a 24 h JWT with the example's claims", async () => {
      const partner = await createPartnerCredential(gateway.url, ROOT_SECRET, { name: 'zipteams partner', subTenantIds: [], tenantId: 'tenantId' });
      const answer = await send(gateway, 'GET', path, {
        'x-sub-tenant-id': 'subTenantId',
        'x-tenant-id': 'tenantId',
        'x-api-key': partner.apiKey,
        'x-api-secret': partner.apiSecret,
      });
      expect(answer.status).toBe(200);
      expect(shapeOf(answer.body)).toEqual(shapeOf(DOCUMENTED_200));
      const { token, ...envelope } = { ...(answer.body as typeof DOCUMENTED_200), token: (answer.body as typeof DOCUMENTED_200).data.token };
      expect({ ...envelope, data: {} }).toEqual({ ...DOCUMENTED_200, data: {} });

      const documented = decodeJwt(DOCUMENTED_200.data.token);
      const claims = decodeJwt(token);
      // Every claim of the document's example, with the same value where the value is the request's.
      expect(Object.keys(claims)).toEqual(expect.arrayContaining(Object.keys(documented)));
      expect({ tenantId: claims.tenantId, subTenantId: claims.subTenantId }).toEqual({ tenantId: documented.tenantId, subTenantId: documented.subTenantId });
      expect(claims.exp! - claims.iat!).toBe(documented.exp! - documented.iat!);
    });

    it('the documented error bodies, byte for byte', async () => {
      const partner = await createPartnerCredential(gateway.url, ROOT_SECRET, { name: 'zipteams errors', subTenantIds: [], tenantId: 'tenantId' });
      const full = { 'x-sub-tenant-id': 'subTenantId', 'x-tenant-id': 'tenantId', 'x-api-key': partner.apiKey, 'x-api-secret': partner.apiSecret };
      const { 'x-tenant-id': _t, ...noTenant } = full;
      const { 'x-sub-tenant-id': _s, ...noSubTenant } = full;
      for (const [headers, status, raw] of [
        [{ ...full, 'x-api-secret': 'apiSecret' }, 403, '{"success":false,"message":"Forbidden"}'],
        [noTenant, 400, '{"success":false,"message":"Tenant ID is required"}'],
        [noSubTenant, 400, '{"success":false,"message":"Subtenant ID is required"}'],
      ] as const) {
        const answer = await send(gateway, 'GET', path, headers);
        expect({ status: answer.status, raw: answer.raw }).toEqual({ status, raw });
      }
    });
  });

  describe('Zendesk ZIS: API key connections', () => {
    const integration = 'my_integration';
    const base = `/api/services/zis/integrations/${integration}/connections/api_key`;
    const DOCUMENTED_CONNECTION = {
      api_key: {
        allowed_domain: 'api.example.com',
        api_key: '*****',
        created_at: '1985-04-12T23:20:50.52Z',
        header_name: 'x-api-key',
        name: 'my_api_key_connection',
        updated_at: '1985-04-12T23:20:50.52Z',
      },
    };
    const documentedError = (code: string, title: string) => ({ errors: [{ code, title }] });
    const createBody = '{  "name": "my_api_key_connection",  "header_name": "x-api-key",  "api_key": "MY_API_KEY",  "allowed_domain": "api.example.com"  }';
    let accessToken: string;

    beforeAll(async () => {
      ({ secret: accessToken } = await issueToken(gateway.url, ROOT_SECRET, { name: 'zis admin', tenantId: 'zendesk-sub', roles: ['keyledger:admin'] }));
    });

    const auth = (token = accessToken) => ({ Authorization: `Bearer ${token}` });

    it('create, show, update, delete as the cURL examples: the documented statuses and shapes', async () => {
      const created = await send(gateway, 'POST', base, { ...auth(), 'content-type': 'application/json' }, createBody);
      expect(created.status).toBe(201);
      expect(shapeOf(created.body)).toEqual(shapeOf(DOCUMENTED_CONNECTION));
      expect({ ...(created.body as typeof DOCUMENTED_CONNECTION).api_key, created_at: '', updated_at: '' }).toEqual({
        ...DOCUMENTED_CONNECTION.api_key,
        created_at: '',
        updated_at: '',
      });

      const shown = await send(gateway, 'GET', `${base}/my_api_key_connection`, auth());
      expect(shown.status).toBe(200);
      expect(shapeOf(shown.body)).toEqual(shapeOf(DOCUMENTED_CONNECTION));

      const updated = await send(gateway, 'PATCH', `${base}/my_api_key_connection`, { ...auth(), 'content-type': 'application/json' }, '{  "header_name": "x-api-key",  "api_key": "MY_API_KEY"  }');
      expect({ status: updated.status, raw: updated.raw }).toEqual({ status: 204, raw: '' });

      const deleted = await send(gateway, 'DELETE', `${base}/my_api_key_connection`, auth());
      expect({ status: deleted.status, raw: deleted.raw }).toEqual({ status: 204, raw: '' });
    });

    it("every documented error status carries the document's code, in {errors: [{code, title}]}", async () => {
      const conflicting = await send(gateway, 'POST', base, { ...auth(), 'content-type': 'application/json' }, createBody);
      expect(conflicting.status).toBe(201);
      const { secret: reader } = await issueToken(gateway.url, ROOT_SECRET, { name: 'zis reader', tenantId: 'zendesk-sub', roles: ['keyledger:connections:read'] });
      const cases: Array<[string, Answer, number, string]> = [
        ['400', await send(gateway, 'POST', `/api/services/zis/integrations/Not%20Valid/connections/api_key`, { ...auth(), 'content-type': 'application/json' }, createBody), 400, 'InvalidIntegration'],
        ['400 on update', await send(gateway, 'PATCH', `/api/services/zis/integrations/Not%20Valid/connections/api_key/my_api_key_connection`, { ...auth(), 'content-type': 'application/json' }, '{"header_name": "x-api-key"}'), 400, 'InvalidIntegration'],
        ['401', await send(gateway, 'GET', `${base}/my_api_key_connection`, { Authorization: 'Bearer x' }), 401, 'InvalidCredentials'],
        ['403', await send(gateway, 'POST', base, { ...auth(reader), 'content-type': 'application/json' }, createBody), 403, 'Forbidden'],
        ['404', await send(gateway, 'GET', `${base}/no_such_connection`, auth()), 404, 'NotFound'],
        ['409', await send(gateway, 'POST', base, { ...auth(), 'content-type': 'application/json' }, createBody), 409, 'Conflict'],
      ];
      for (const [name, answer, status, code] of cases) {
        expect({ name, status: answer.status, shape: shapeOf(answer.body), code: (answer.body as any).errors[0].code }).toEqual({
          name,
          status,
          shape: shapeOf(documentedError('c', 't')),
          code,
        });
      }
      expect(cases[4][1].body).toEqual(documentedError('NotFound', 'Connection does not exist'));

      const { secret: busy } = await issueToken(gateway.url, ROOT_SECRET, { name: 'zis busy', tenantId: 'zendesk-sub', roles: ['keyledger:connections:read'] });
      let limited: Answer | null = null;
      for (let i = 0; i < 21 && !limited; i++) {
        const answer = await send(gateway, 'GET', `${base}/my_api_key_connection`, auth(busy));
        if (answer.status === 429) limited = answer;
      }
      expect(limited).not.toBeNull();
      expect(shapeOf(limited!.body)).toEqual(shapeOf(documentedError('c', 't')));
      expect((limited!.body as any).errors[0].code).toBe('TooManyRequests');
    });
  });

  describe('Zoho Cliq: extension tokens, issued when a user confirms the token dialog', () => {
    it("the extension function, holding keyledger:webhook-tokens:write, issues the user's webhook token, which then works as a bearer", async () => {
      const { secret: extension } = await issueToken(gateway.url, ROOT_SECRET, { name: 'extension', tenantId: 'cliq-org', roles: ['keyledger:webhook-tokens:write'] });
      const issued = await graphql(
        gateway.url,
        'mutation($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id kind ownerId } } }',
        { input: { kind: 'WEBHOOK_TOKEN', name: 'Generate Webhooks for a GitLab Project', ownerId: 'user@example.com' } },
        extension,
      );
      expect(issued.errors).toBeUndefined();
      expect(issued.data!.issueToken.token).toMatchObject({ kind: 'WEBHOOK_TOKEN', ownerId: 'user@example.com' });
      const viewer = await graphql(gateway.url, '{ viewer { id tenantId } }', {}, issued.data!.issueToken.secret);
      expect(viewer.data!.viewer).toEqual({ id: issued.data!.issueToken.token.id, tenantId: 'cliq-org' });
    });
  });

  describe('Cotalker: API tokens from the administrative panel', () => {
    it('a token with a name, a code, a bot identity and roles, shown once, then edited and revoked', async () => {
      const { secret: admin } = await issueToken(gateway.url, ROOT_SECRET, { name: 'cotalker admin', tenantId: 'cotalker-co', roles: ['keyledger:admin'] });
      const created = await graphql(
        gateway.url,
        'mutation($input: IssueTokenInput!) { issueToken(input: $input) { secret token { id name code botName avatarUrl roles } } }',
        { input: { name: 'Partner token', code: 'partner-token', botName: 'Partner bot', avatarUrl: 'https://cdn.example.com/bot.png', roles: ['channels:send'] } },
        admin,
      );
      expect(created.errors).toBeUndefined();
      const { id } = created.data!.issueToken.token;
      const edited = await graphql(gateway.url, 'mutation($id: ID!) { updateToken(input: {id: $id, roles: ["channels:read"]}) { roles } }', { id }, admin);
      expect(edited.data!.updateToken.roles).toEqual(['channels:read']);
      const revoked = await graphql(gateway.url, 'mutation($id: ID!) { revokeToken(input: {id: $id}) { status } }', { id }, admin);
      expect(revoked.data!.revokeToken.status).toBe('REVOKED');
      const listed = await graphql(gateway.url, '{ tokens(first: 10) { edges { node { id } } } }', {}, admin);
      expect(JSON.stringify(listed.data)).not.toContain(created.data!.issueToken.secret);
    });
  });
});
