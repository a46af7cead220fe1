import type { Clock } from '../../../src/app/clock';
import { accessStreamId } from '../../../src/domain/connections';
import {
  CREATE_CONNECTION,
  createConnection,
  DELETE_CONNECTION,
  GET_CONNECTION,
  LIST_CONNECTIONS,
  rest,
  UPDATE_CONNECTION,
  useConnection,
} from '../../helpers/connections-client';
import { eventually, issueToken, ROOT_SECRET, type TestGateway } from '../../helpers/gateway';
import { errorCode, graphql, type GraphQLResponse } from '../../helpers/graphql-client';
import { TestClock } from '../../helpers/test-clock';

export type ConnectionGatewayFactory = (options: { clock?: Clock; env?: Record<string, string> }) => Promise<TestGateway>;

/** Tenants unique per run, so the suite also runs against a shared, long-lived event store. */
const RUN = Math.random().toString(36).slice(2, 8);
const tenant = (label: string) => `conn-${label}-${RUN}`;

let keyCounter = 0;
/** A distinctive key per test, so a leak of one is attributable. */
const newKey = () => `sk_live_${RUN}_${++keyCounter}_Zq8vJw3xTn5pLr2Hs9Kd`;

function expectNoStackTraces(response: { raw: string }) {
  expect(response.raw).not.toMatch(/stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/);
}

/** Connection operations over GraphQL and the Zendesk-shaped REST routes, on any gateway factory. */
export function describeConnections(adapter: string, start: ConnectionGatewayFactory): void {
  describe(`API-key connections (${adapter})`, () => {
    let gw: TestGateway;
    const clock = new TestClock();
    const A = tenant('a');
    const B = tenant('b');
    let adminA: string;
    let adminB: string;
    let readerA: string;
    let writerA: string;
    let userA: string;
    let tokensOnlyA: string;

    const create = (input: Record<string, unknown>, bearer = adminA) => graphql(gw.url, CREATE_CONNECTION, { input }, bearer);
    const update = (input: Record<string, unknown>, bearer = adminA) => graphql(gw.url, UPDATE_CONNECTION, { input }, bearer);
    const remove = (vars: Record<string, unknown>, bearer = adminA) => graphql(gw.url, DELETE_CONNECTION, vars, bearer);
    const get = (vars: Record<string, unknown>, bearer = adminA) => graphql(gw.url, GET_CONNECTION, vars, bearer);
    const list = (vars: Record<string, unknown>, bearer = adminA) => graphql(gw.url, LIST_CONNECTIONS, vars, bearer);
    const use = (vars: { integration: string; name: string; url: string; tenantId?: string }, bearer = userA) => useConnection(gw.url, bearer, vars);
    const input = (overrides: Record<string, unknown> = {}) => ({
      integration: 'crm',
      name: `conn_${++keyCounter}`,
      headerName: 'x-api-key',
      apiKey: newKey(),
      allowedDomain: 'api.example.com',
      ...overrides,
    });

    beforeAll(async () => {
      gw = await start({ clock });
      ({ secret: adminA } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: A, roles: ['keyledger:admin'] }));
      ({ secret: adminB } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin b', tenantId: B, roles: ['keyledger:admin'] }));
      ({ secret: readerA } = await issueToken(gw.url, adminA, { name: 'reader', roles: ['keyledger:connections:read'] }));
      ({ secret: writerA } = await issueToken(gw.url, adminA, { name: 'writer', roles: ['keyledger:connections:write'] }));
      ({ secret: userA } = await issueToken(gw.url, adminA, { name: 'user', roles: ['keyledger:connections:use'] }));
      ({ secret: tokensOnlyA } = await issueToken(gw.url, adminA, { name: 'tokens only', roles: ['keyledger:tokens:write'] }));
    });
    afterAll(async () => gw.stop());

    describe('createApiKeyConnection', () => {
      it('creates a connection; the key reads as *****, the domain is normalised', async () => {
        const fields = input({ allowedDomain: 'API.Example.COM' });
        const response = await create(fields);
        expect(response.errors).toBeUndefined();
        const created = response.data!.createApiKeyConnection;
        expect(created).toMatchObject({
          name: fields.name,
          integration: 'crm',
          tenantId: A,
          headerName: 'x-api-key',
          apiKey: '*****',
          allowedDomain: 'api.example.com',
        });
        expect(created.createdAt).toBe(created.updatedAt);
        expect(response.raw).not.toContain(fields.apiKey);
      });

      it('a writer may create; the name is unique per tenant and integration (CONFLICT), free elsewhere', async () => {
        const fields = input();
        expect((await create(fields, writerA)).errors).toBeUndefined();
        const again = await create({ ...fields, apiKey: newKey() });
        expect(errorCode(again)).toBe('CONFLICT');
        expect(again.errors![0].message).toContain(fields.name);
        expect((await create({ ...fields, integration: 'billing' })).errors).toBeUndefined();
        expect((await create(fields, adminB)).errors).toBeUndefined();
      });

      it('concurrent creations of one name: exactly one succeeds, the others get CONFLICT', async () => {
        const name = `race_${RUN}`;
        const responses = await Promise.all(Array.from({ length: 4 }, () => create(input({ name }))));
        expect(responses.filter((r) => r.errors === undefined)).toHaveLength(1);
        expect(responses.filter((r) => errorCode(r) === 'CONFLICT')).toHaveLength(3);
      });

      it.each([
        ['a name of two characters', { name: 'ab' }, 'name'],
        ['a name with a space', { name: 'my conn' }, 'name'],
        ['an uppercase integration', { integration: 'CRM' }, 'integration'],
        ['a header name with a colon', { headerName: 'x-api-key:' }, 'headerName'],
        ['a hop-by-hop header', { headerName: 'Connection' }, 'headerName'],
        ['the Host header', { headerName: 'host' }, 'headerName'],
        ['a Proxy- header', { headerName: 'Proxy-Authorization' }, 'headerName'],
        ['a domain with a scheme', { allowedDomain: 'https://api.example.com' }, 'allowedDomain'],
        ['a domain with a path', { allowedDomain: 'api.example.com/v1' }, 'allowedDomain'],
        ['a domain with a port', { allowedDomain: 'api.example.com:443' }, 'allowedDomain'],
        ['an IP address', { allowedDomain: '10.0.0.1' }, 'allowedDomain'],
        ['a wildcard over a public suffix', { allowedDomain: '*.com' }, 'allowedDomain'],
        ['a percent-encoded domain', { allowedDomain: 'api%2eexample.com' }, 'allowedDomain'],
        ['a domain with a control character', { allowedDomain: 'api.example.com\u0000.evil.invalid' }, 'allowedDomain'],
        ['a domain normalisation would change', { allowedDomain: 'api.exam\u00adple.com' }, 'allowedDomain'],
        ['an empty key', { apiKey: '' }, 'apiKey'],
        ['a key of 4097 bytes', { apiKey: 'k'.repeat(4097) }, 'apiKey'],
        ['a key with a line break', { apiKey: 'abc\r\nX-Injected: 1' }, 'apiKey'],
      ])('refuses %s with BAD_USER_INPUT naming the field, without echoing the key', async (_label, overrides, field) => {
        const response = await create(input(overrides));
        expect(errorCode(response)).toBe('BAD_USER_INPUT');
        expect(response.errors![0].extensions!.field).toBe(field);
        const apiKey = (overrides as Record<string, unknown>).apiKey;
        if (typeof apiKey === 'string' && apiKey.length > 0) expect(response.raw).not.toContain(apiKey);
        expectNoStackTraces(response);
      });

      it('a key of exactly 4096 bytes is fine', async () => {
        expect((await create(input({ apiKey: 'k'.repeat(4096) }))).errors).toBeUndefined();
      });
    });

    describe('apiKeyConnection and apiKeyConnections', () => {
      it('reads one connection by integration and name; a missing one is null', async () => {
        const fields = input();
        await createConnection(gw.url, adminA, fields);
        const found = await get({ integration: 'crm', name: fields.name }, readerA);
        expect(found.data!.apiKeyConnection).toMatchObject({ name: fields.name, apiKey: '*****', headerName: 'x-api-key' });
        expect(found.raw).not.toContain(fields.apiKey);
        expect((await get({ integration: 'crm', name: 'no_such_connection' }, readerA)).data!.apiKeyConnection).toBeNull();
      });

      it('pages newest first with cursors and a total count, per integration', async () => {
        const integration = `paging-${RUN}`;
        const names = ['first_one', 'second_one', 'third_one'];
        for (const name of names) await createConnection(gw.url, adminA, input({ integration, name }));
        const page1 = (await list({ integration, first: 2 }, readerA)).data!.apiKeyConnections;
        expect(page1.totalCount).toBe(3);
        expect(page1.edges.map((edge: any) => edge.node.name)).toEqual(['third_one', 'second_one']);
        expect(page1.pageInfo.hasNextPage).toBe(true);
        const page2 = (await list({ integration, first: 2, after: page1.pageInfo.endCursor }, readerA)).data!.apiKeyConnections;
        expect(page2.edges.map((edge: any) => edge.node.name)).toEqual(['first_one']);
        expect(page2.pageInfo.hasNextPage).toBe(false);
        expect(page2.edges.every((edge: any) => edge.node.apiKey === '*****')).toBe(true);
        expect(errorCode(await list({ integration, after: 'garbage' }, readerA))).toBe('BAD_USER_INPUT');
        expect(errorCode(await list({ integration, first: 1000 }, readerA))).toBe('BAD_USER_INPUT');
      });
    });

    describe('updateApiKeyConnection', () => {
      it('changes the header name; updatedAt moves, createdAt stays', async () => {
        const fields = input();
        const created = await createConnection(gw.url, adminA, fields);
        clock.advance(1000);
        const response = await update({ integration: 'crm', name: fields.name, headerName: 'Authorization', apiKey: newKey() }, writerA);
        expect(response.errors).toBeUndefined();
        expect(response.data!.updateApiKeyConnection).toMatchObject({ headerName: 'Authorization', apiKey: '*****', createdAt: created.createdAt });
        expect(response.data!.updateApiKeyConnection.updatedAt).not.toBe(created.updatedAt);
      });

      it('replaces the key: the new one is handed out, the old one never again', async () => {
        const fields = input();
        await createConnection(gw.url, adminA, fields);
        const replacement = newKey();
        const response = await update({ integration: 'crm', name: fields.name, apiKey: replacement });
        expect(response.errors).toBeUndefined();
        expect(response.raw).not.toContain(replacement);
        const used = await use({ integration: 'crm', name: fields.name, url: 'https://api.example.com/v1/things' });
        expect(used.data!.useApiKeyConnection).toEqual({ headerName: 'x-api-key', apiKey: replacement });
      });

      it('moving the key to another domain requires giving the key again', async () => {
        const fields = input();
        await createConnection(gw.url, adminA, fields);
        const refused = await update({ integration: 'crm', name: fields.name, allowedDomain: 'evil.example.net' });
        expect(errorCode(refused)).toBe('BAD_USER_INPUT');
        expect(refused.errors![0].message).toMatch(/requires giving apiKey again/);
        const key = newKey();
        const moved = await update({ integration: 'crm', name: fields.name, allowedDomain: 'api.example.org', apiKey: key });
        expect(moved.data!.updateApiKeyConnection.allowedDomain).toBe('api.example.org');
        expect((await use({ integration: 'crm', name: fields.name, url: 'https://api.example.org/' })).data!.useApiKeyConnection.apiKey).toBe(key);
      });

      it('moving the key to another header requires giving the key again', async () => {
        const fields = input();
        await createConnection(gw.url, adminA, fields);
        const refused = await update({ integration: 'crm', name: fields.name, headerName: 'x-echoed-by-the-site' });
        expect(refused.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'apiKey', reason: 'API_KEY_REQUIRED' });
        expect((await use({ integration: 'crm', name: fields.name, url: 'https://api.example.com/' })).data!.useApiKeyConnection).toEqual({
          headerName: fields.headerName,
          apiKey: fields.apiKey,
        });
        expect((await update({ integration: 'crm', name: fields.name, headerName: fields.headerName })).errors).toBeUndefined();
      });

      it('an update naming nothing to change is bad input; a missing connection is NOT_FOUND', async () => {
        const fields = input();
        await createConnection(gw.url, adminA, fields);
        expect(errorCode(await update({ integration: 'crm', name: fields.name }))).toBe('BAD_USER_INPUT');
        expect(errorCode(await update({ integration: 'crm', name: 'no_such_connection', headerName: 'x-key' }))).toBe('NOT_FOUND');
        expect(errorCode(await update({ integration: 'crm', name: fields.name, headerName: 'Transfer-Encoding' }))).toBe('BAD_USER_INPUT');
      });
    });

    describe('deleteApiKeyConnection', () => {
      it('deletes; the name reads as missing, cannot be deleted twice, and can be used again with a new key', async () => {
        const fields = input();
        await createConnection(gw.url, adminA, fields);
        const deleted = await remove({ integration: 'crm', name: fields.name }, writerA);
        expect(deleted.data!.deleteApiKeyConnection).toBe(true);
        expect((await get({ integration: 'crm', name: fields.name })).data!.apiKeyConnection).toBeNull();
        expect(errorCode(await remove({ integration: 'crm', name: fields.name }))).toBe('NOT_FOUND');
        expect(errorCode(await use({ integration: 'crm', name: fields.name, url: 'https://api.example.com/' }))).toBe('NOT_FOUND');

        const again = { ...fields, apiKey: newKey(), headerName: 'x-second' };
        expect((await create(again)).errors).toBeUndefined();
        const used = await use({ integration: 'crm', name: fields.name, url: 'https://api.example.com/' });
        expect(used.data!.useApiKeyConnection).toEqual({ headerName: 'x-second', apiKey: again.apiKey });
        expect(used.raw).not.toContain(fields.apiKey);
      });
    });

    describe('useApiKeyConnection', () => {
      let exact: ReturnType<typeof input>;
      let wildcard: ReturnType<typeof input>;

      beforeAll(async () => {
        exact = input();
        wildcard = input({ allowedDomain: '*.example.io', headerName: 'X-Token' });
        await createConnection(gw.url, adminA, exact);
        await createConnection(gw.url, adminA, wildcard);
      });

      it.each([
        'https://api.example.com/v1/charges?limit=3',
        'https://api.example.com:8443/v1',
        'https://API.EXAMPLE.COM./v1',
      ])('hands out the key for %s', async (url) => {
        const response = await use({ integration: 'crm', name: exact.name, url });
        expect(response.errors).toBeUndefined();
        expect(response.data!.useApiKeyConnection).toEqual({ headerName: 'x-api-key', apiKey: exact.apiKey });
      });

      it.each([
        ['plain http', 'http://api.example.com/v1'],
        ['another host', 'https://evil.example.net/'],
        ['the parent domain', 'https://example.com/'],
        ['a subdomain of an exact host', 'https://x.api.example.com/'],
        ['a suffix trick', 'https://api.example.com.evil.net/'],
        ['a look-alike', 'https://evilapi.example.com/'],
        ['an IP address', 'https://93.184.216.34/'],
      ])('refuses %s with FORBIDDEN', async (_label, url) => {
        const response = await use({ integration: 'crm', name: exact.name, url });
        expect(errorCode(response)).toBe('FORBIDDEN');
        expect(response.raw).not.toContain(exact.apiKey);
      });

      it.each([
        ['a backslash before an @', 'https://api.example.com\\@evil.invalid/'],
        ['a backslash for a slash', 'https://api.example.com\\evil.invalid/'],
        ['credentials in the URL', 'https://user:pass@api.example.com/'],
        ['an empty user name', 'https://@api.example.com/'],
        ['a percent-encoded host', 'https://api.exa%6Dple.com/'],
        ['a tab', 'https://api.example.com\t.evil.invalid/'],
        ['a space', 'https://api.example.com /'],
        ['a line break', 'https://api.example.com/\r\nx'],
        ['a NUL', 'https://api.example.com\u0000.evil.invalid/'],
        ['a non-ASCII host', 'https://аpi.example.com/'],
        ['missing slashes', 'https:api.example.com/'],
        ['the default port', 'https://api.example.com:443/'],
        ['dot segments', 'https://api.example.com/v1/../admin'],
        ['characters the parser encodes', 'https://api.example.com/{x}'],
      ])('refuses a URL parsers may read differently (%s) as BAD_USER_INPUT AMBIGUOUS_URL', async (_label, url) => {
        const response = await use({ integration: 'crm', name: exact.name, url });
        expect(response.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'url', reason: 'AMBIGUOUS_URL' });
        expect(response.raw).not.toContain(exact.apiKey);
      });

      it('hands out the key for a bare origin, written with or without its slash', async () => {
        for (const url of ['https://api.example.com', 'https://api.example.com?page=2', 'HTTPS://api.example.com/']) {
          expect((await use({ integration: 'crm', name: exact.name, url })).data!.useApiKeyConnection.apiKey).toBe(exact.apiKey);
        }
      });

      it('a wildcard allows subdomains at any depth, but not the domain itself nor look-alikes', async () => {
        for (const url of ['https://eu.example.io/', 'https://a.b.example.io:444/x']) {
          expect((await use({ integration: 'crm', name: wildcard.name, url })).data!.useApiKeyConnection.apiKey).toBe(wildcard.apiKey);
        }
        for (const url of ['https://example.io/', 'https://badexample.io/', 'https://eu.example.io.evil.net/']) {
          expect(errorCode(await use({ integration: 'crm', name: wildcard.name, url }))).toBe('FORBIDDEN');
        }
      });

      it('a URL that does not parse is bad input; a missing connection is NOT_FOUND', async () => {
        expect(errorCode(await use({ integration: 'crm', name: exact.name, url: 'not a url' }))).toBe('BAD_USER_INPUT');
        expect(errorCode(await use({ integration: 'crm', name: 'no_such_connection', url: 'https://api.example.com/' }))).toBe('NOT_FOUND');
      });

      it('records each use in the tenant\'s access stream: who, when, which connection, which host, never the key', async () => {
        const fields = input({ allowedDomain: '*.audit.example.com' });
        await createConnection(gw.url, adminA, fields);
        await use({ integration: 'crm', name: fields.name, url: 'https://eu.audit.example.com/path/with/secret?q=1' });
        await use({ integration: 'crm', name: fields.name, url: 'https://us.audit.example.com/' }, adminA);
        let records: Awaited<ReturnType<typeof gw.gateway.store.readStream>> = [];
        await eventually(async () => {
          records = (await gw.gateway.store.readStream(accessStreamId(A))).filter((event) => event.data.name === fields.name);
          return records.length === 2;
        }, 10_000);
        expect(records.map((record) => record.type)).toEqual(['ConnectionUsed', 'ConnectionUsed']);
        expect(records.map((record) => record.data.host)).toEqual(['eu.audit.example.com', 'us.audit.example.com']);
        expect(records[0].data).toMatchObject({ tenantId: A, integration: 'crm', name: fields.name });
        expect(records[0].metadata.actor).toMatchObject({ type: 'token', tenantId: A });
        expect(records[0].metadata.actor.id).not.toBe(records[1].metadata.actor.id);
        const text = JSON.stringify(records.map(({ data, metadata }) => ({ data, metadata })));
        expect(text).not.toContain(fields.apiKey);
        expect(text).not.toContain('/path/with/secret');
        // Not an event of the connection's own stream.
        const own = await gw.gateway.store.readStream(`connection-${A}/crm/${fields.name}`);
        expect(own.map((event) => event.type)).toEqual(['ConnectionCreated']);
      });
    });

    describe('security', () => {
      let existing: ReturnType<typeof input>;
      beforeAll(async () => {
        existing = input();
        await createConnection(gw.url, adminA, existing);
      });

      const operations = () =>
        [
          ['createApiKeyConnection', () => ({ query: CREATE_CONNECTION, variables: { input: input() } })],
          ['updateApiKeyConnection', () => ({ query: UPDATE_CONNECTION, variables: { input: { integration: 'crm', name: existing.name, headerName: 'x-other' } } })],
          ['deleteApiKeyConnection', () => ({ query: DELETE_CONNECTION, variables: { integration: 'crm', name: existing.name } })],
          ['apiKeyConnection', () => ({ query: GET_CONNECTION, variables: { integration: 'crm', name: existing.name } })],
          ['apiKeyConnections', () => ({ query: LIST_CONNECTIONS, variables: { integration: 'crm' } })],
        ] as const;

      it('every operation without a bearer is UNAUTHENTICATED', async () => {
        for (const [, operation] of operations()) {
          const { query, variables } = operation();
          const response = await graphql(gw.url, query, variables);
          expect(errorCode(response)).toBe('UNAUTHENTICATED');
          expectNoStackTraces(response);
        }
        expect(errorCode(await useConnection(gw.url, '', { integration: 'crm', name: existing.name, url: 'https://api.example.com/' }))).toBe(
          'UNAUTHENTICATED',
        );
        expect(errorCode(await use({ integration: 'crm', name: existing.name, url: 'https://api.example.com/' }, 'klt_garbage'))).toBe('UNAUTHENTICATED');
      });

      it('roles: read cannot write or use, write cannot use, use cannot read or write, tokens roles grant nothing here', async () => {
        const expectForbidden = (response: GraphQLResponse) => {
          expect(errorCode(response)).toBe('FORBIDDEN');
          expect(response.raw).not.toContain(existing.apiKey);
        };
        expectForbidden(await create(input(), readerA));
        expectForbidden(await update({ integration: 'crm', name: existing.name, headerName: 'x-other' }, readerA));
        expectForbidden(await remove({ integration: 'crm', name: existing.name }, readerA));
        expectForbidden(await use({ integration: 'crm', name: existing.name, url: 'https://api.example.com/' }, readerA));
        expectForbidden(await use({ integration: 'crm', name: existing.name, url: 'https://api.example.com/' }, writerA));
        expectForbidden(await create(input(), userA));
        expectForbidden(await get({ integration: 'crm', name: existing.name }, userA));
        expectForbidden(await get({ integration: 'crm', name: existing.name }, tokensOnlyA));
        expectForbidden(await list({ integration: 'crm' }, tokensOnlyA));
        // The connection is untouched.
        expect((await get({ integration: 'crm', name: existing.name })).data!.apiKeyConnection.headerName).toBe('x-api-key');
      });

      it("another tenant's connection reads as missing, and cannot be changed, deleted or used", async () => {
        expect((await get({ integration: 'crm', name: existing.name }, adminB)).data!.apiKeyConnection).toBeNull();
        const listed = (await list({ integration: 'crm' }, adminB)).data!.apiKeyConnections;
        expect(listed.edges.some((edge: any) => edge.node.name === existing.name && edge.node.tenantId === A)).toBe(false);
        expect(errorCode(await update({ integration: 'crm', name: existing.name, headerName: 'x-hijack' }, adminB))).toBe('NOT_FOUND');
        expect(errorCode(await remove({ integration: 'crm', name: existing.name }, adminB))).toBe('NOT_FOUND');
        const used = await use({ integration: 'crm', name: existing.name, url: 'https://api.example.com/' }, adminB);
        expect(errorCode(used)).toBe('NOT_FOUND');
        expect(used.raw).not.toContain(existing.apiKey);
        expect((await get({ integration: 'crm', name: existing.name })).data!.apiKeyConnection.headerName).toBe('x-api-key');
      });

      it('naming another tenant is FORBIDDEN except for root, which reaches every tenant', async () => {
        expect(errorCode(await get({ integration: 'crm', name: existing.name, tenantId: A }, adminB))).toBe('FORBIDDEN');
        expect(errorCode(await create({ ...input(), tenantId: A }, adminB))).toBe('FORBIDDEN');
        const asRoot = await get({ integration: 'crm', name: existing.name, tenantId: A }, ROOT_SECRET);
        expect(asRoot.data!.apiKeyConnection).toMatchObject({ tenantId: A, name: existing.name });
      });
    });

    describe('REST (Zendesk ZIS shape)', () => {
      const base = (integration = 'crm') => `${integration}/connections/api_key`;
      const body = (overrides: Record<string, unknown> = {}) => ({
        name: `rest_${++keyCounter}`,
        header_name: 'x-api-key',
        api_key: newKey(),
        allowed_domain: 'api.example.com',
        ...overrides,
      });

      it('POST creates (201) and answers in snake_case with the key redacted; GET reads it (200)', async () => {
        const sent = body();
        const created = await rest(gw.url, 'POST', base(), adminA, sent);
        expect(created.status).toBe(201);
        expect(created.body).toEqual({
          api_key: {
            name: sent.name,
            header_name: 'x-api-key',
            api_key: '*****',
            allowed_domain: 'api.example.com',
            created_at: expect.any(String),
            updated_at: expect.any(String),
          },
        });
        expect(created.raw).not.toContain(sent.api_key);
        const read = await rest(gw.url, 'GET', `${base()}/${sent.name}`, readerA);
        expect(read.status).toBe(200);
        expect(read.body).toEqual(created.body);
      });

      it('PATCH updates (204), DELETE deletes (204), then 404 with the reference error body', async () => {
        const sent = body();
        await rest(gw.url, 'POST', base(), adminA, sent);
        const patched = await rest(gw.url, 'PATCH', `${base()}/${sent.name}`, writerA, { header_name: 'x-other-key', api_key: newKey() });
        expect(patched.status).toBe(204);
        expect((await rest(gw.url, 'GET', `${base()}/${sent.name}`, readerA)).body.api_key.header_name).toBe('x-other-key');
        expect((await rest(gw.url, 'DELETE', `${base()}/${sent.name}`, writerA)).status).toBe(204);
        const gone = await rest(gw.url, 'GET', `${base()}/${sent.name}`, readerA);
        expect(gone.status).toBe(404);
        expect(gone.body).toEqual({ errors: [{ code: 'NotFound', title: 'Connection does not exist' }] });
        expect((await rest(gw.url, 'DELETE', `${base()}/${sent.name}`, writerA)).status).toBe(404);
        expect((await rest(gw.url, 'PATCH', `${base()}/${sent.name}`, writerA, { header_name: 'x' })).status).toBe(404);
      });

      it('409 for a name that exists, with the Conflict code', async () => {
        const sent = body();
        await rest(gw.url, 'POST', base(), adminA, sent);
        const again = await rest(gw.url, 'POST', base(), adminA, { ...sent, api_key: newKey() });
        expect(again.status).toBe(409);
        expect(again.body.errors[0].code).toBe('Conflict');
      });

      it('400 is InvalidIntegration, the one code the document gives it, for an invalid integration, a missing or mistyped field, a bad value, bad JSON', async () => {
        const badIntegration = await rest(gw.url, 'POST', base('Not_Valid'), adminA, body());
        expect(badIntegration.status).toBe(400);
        expect(badIntegration.body.errors[0]).toEqual({ code: 'InvalidIntegration', title: expect.stringMatching(/^Specified integration is not valid/) });
        const secret = newKey();
        for (const sent of [body({ name: undefined }), body({ api_key: 42 }), body({ allowed_domain: 'https://api.example.com' }), body({ api_key: `${secret}\n` })]) {
          const response = await rest(gw.url, 'POST', base(), adminA, sent);
          expect(response.status).toBe(400);
          expect(response.body.errors[0]).toEqual({ code: 'InvalidIntegration', title: expect.any(String) });
          expect(response.raw).not.toContain(secret);
        }
        const named = await rest(gw.url, 'POST', base(), adminA, body({ header_name: 'Content-Length' }));
        expect(named.body.errors[0].title).toMatch(/^header_name /);
        expect((await rest(gw.url, 'POST', base(), adminA, '{"name": ')).status).toBe(400);
        expect((await rest(gw.url, 'PATCH', `${base()}/whatever_name`, adminA, {})).status).toBe(400);
      });

      it('401 without or with a bad bearer, 403 for a missing role, 404 for another tenant, 405 for other methods', async () => {
        const sent = body();
        await rest(gw.url, 'POST', base(), adminA, sent);
        for (const bearer of [undefined, 'klt_not_a_real_token']) {
          const response = await rest(gw.url, 'GET', `${base()}/${sent.name}`, bearer);
          expect(response.status).toBe(401);
          expect(response.body.errors[0].code).toBe('InvalidCredentials');
          expect(response.headers.get('www-authenticate')).toBe('Bearer');
        }
        const forbidden = await rest(gw.url, 'POST', base(), readerA, body());
        expect(forbidden.status).toBe(403);
        expect(forbidden.body.errors[0].code).toBe('Forbidden');
        expect((await rest(gw.url, 'GET', `${base()}/${sent.name}`, userA)).status).toBe(403);
        expect((await rest(gw.url, 'GET', `${base()}/${sent.name}`, adminB)).status).toBe(404);
        expect((await rest(gw.url, 'DELETE', `${base()}/${sent.name}`, adminB)).status).toBe(404);
        expect((await rest(gw.url, 'PATCH', `${base()}/${sent.name}`, adminB, { header_name: 'x-hijack' })).status).toBe(404);
        expect((await rest(gw.url, 'GET', `${base()}/${sent.name}`, adminA)).body.api_key.header_name).toBe('x-api-key');
        const put = await rest(gw.url, 'PUT', `${base()}/${sent.name}`, adminA, {});
        expect(put.status).toBe(405);
        expect(put.headers.get('allow')).toBe('GET, HEAD, PATCH, DELETE');
        expect((await rest(gw.url, 'GET', base(), adminA)).headers.get('allow')).toBe('POST');
      });

      it('400 naming the content type for a JSON body sent as text/plain, not a missing field', async () => {
        const response = await fetch(`${gw.url}/api/services/zis/integrations/${base()}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminA}`, 'content-type': 'text/plain' },
          body: JSON.stringify(body()),
        });
        expect(response.status).toBe(400);
        const { errors } = (await response.json()) as { errors: Array<{ code: string; title: string }> };
        expect(errors[0]).toEqual({ code: 'InvalidIntegration', title: expect.stringContaining('Content-Type: application/json') });
        expect(errors[0].title).not.toMatch(/required/);
      });
    });
  });

  describe(`REST rate limit for connections (${adapter})`, () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await start({ env: { KEYLEDGER_CONNECTIONS_REST_RATE_LIMIT: '3' } });
    });
    afterAll(async () => gw.stop());

    it('answers 429 TooManyRequests with Retry-After once a caller exceeds its budget; other callers are unaffected', async () => {
      const A = tenant('limit');
      const { secret: first } = await issueToken(gw.url, ROOT_SECRET, { name: 'first', tenantId: A, roles: ['keyledger:connections:read'] });
      const { secret: second } = await issueToken(gw.url, ROOT_SECRET, { name: 'second', tenantId: A, roles: ['keyledger:connections:read'] });
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<typeof rest>> | null = null;
      for (let i = 0; i < 4; i++) {
        const response = await rest(gw.url, 'GET', 'crm/connections/api_key/missing_one', first);
        statuses.push(response.status);
        if (response.status === 429) limited = response;
      }
      expect(statuses).toEqual([404, 404, 404, 429]);
      expect(limited!.body).toEqual({ errors: [{ code: 'TooManyRequests', title: 'Too many requests' }] });
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await rest(gw.url, 'GET', 'crm/connections/api_key/missing_one', second)).status).toBe(404);
    });
  });
}
