import { BASE62_ALPHABET } from '../../src/crypto/base62';
import { graphql, ISSUE_TOKEN } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';

describe('operational endpoints', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => gw.stop());

  it('GET /healthz and /readyz answer 200 once caught up', async () => {
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('GET /metrics exposes request counts and latencies by operation, and projection lag', async () => {
    await issueToken(gw.url, ROOT_SECRET, { name: 'metered', tenantId: 'acme' });
    await graphql(gw.url, '{ viewer { id } }', {});
    const response = await fetch(`${gw.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/keyledger_graphql_requests_total\{operation="mutation:issueToken",outcome="ok"\} [1-9]/);
    expect(text).toMatch(/keyledger_graphql_requests_total\{operation="query:viewer",outcome="error"\} [1-9]/);
    expect(text).toMatch(/keyledger_graphql_request_duration_seconds_bucket\{le="[0-9.]+",operation="mutation:issueToken"\}/);
    expect(text).toMatch(/keyledger_projection_lag_seconds 0/);
    expect(text).toMatch(/keyledger_projection_caught_up 1/);
  });

  it('client-chosen operation names do not become metric labels', async () => {
    await graphql(gw.url, 'query Attacker_Chosen_Name_12345 { viewer { id } }', {}, ROOT_SECRET);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).not.toContain('Attacker_Chosen_Name_12345');
  });

  it('GET /graphql in a browser shows a query page that needs no internet', async () => {
    const response = await fetch(`${gw.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<textarea id="query"');
    expect(html).toContain("fetch(location.pathname");
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/cdn|apollographql\.com|unpkg|jsdelivr/i);
  });

  it('echoes a well-formed x-request-id and replaces a hostile one', async () => {
    const echoed = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'req-123.abc' } });
    expect(echoed.headers.get('x-request-id')).toBe('req-123.abc');
    const replaced = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'bad id\twith "quotes"' } });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('makes up request ids and event ids as version 7 UUIDs, in time order', async () => {
    const before = Date.now();
    const response = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ROOT_SECRET}` },
      body: JSON.stringify({ query: ISSUE_TOKEN, variables: { input: { name: 'ordered ids', tenantId: 'ids' } } }),
    });
    const after = Date.now();
    const issued = (await response.json()) as { data: { issueToken: { token: { id: string } } } };
    const requestId = response.headers.get('x-request-id')!;
    const page = await graphql<{ auditLog: { edges: Array<{ node: { id: string; requestId: string; resource: { id: string } } }> } }>(
      gw.url,
      'query($r: String) { auditLog(tenantId: "ids", filter: { requestId: $r }) { edges { node { id requestId resource { id } } } } }',
      { r: requestId },
      ROOT_SECRET,
    );
    expect(page.errors).toBeUndefined();
    const [entry] = page.data!.auditLog.edges.map((edge) => edge.node);
    expect(entry.resource.id).toBe(issued.data.issueToken.token.id);
    const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const millisOf = (uuid: string) => parseInt(uuid.replace(/-/g, '').slice(0, 12), 16);
    for (const id of [requestId, entry.id]) {
      expect(id).toMatch(v7);
      expect(millisOf(id)).toBeGreaterThanOrEqual(before);
      expect(millisOf(id)).toBeLessThanOrEqual(after);
    }
    expect(millisOf(entry.id)).toBeGreaterThanOrEqual(millisOf(requestId));
  });

  it('makes up token ids that sort by issue time, each with a random part of its own', async () => {
    const millisOf = (id: string) => [...id.slice(4, 12)].reduce((sum, char) => sum * 62 + BASE62_ALPHABET.indexOf(char), 0);
    const issued: Array<{ id: string; before: number; after: number }> = [];
    for (let i = 0; i < 6; i++) {
      const before = Date.now();
      const { id } = await issueToken(gw.url, ROOT_SECRET, { name: `sorted ${i}`, tenantId: 'ids' });
      issued.push({ id, before, after: Date.now() });
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const ids = issued.map((token) => token.id);
    for (const { id, before, after } of issued) {
      expect(id).toMatch(/^tok_[0-9A-Za-z]{22}$/);
      expect(millisOf(id)).toBeGreaterThanOrEqual(before);
      expect(millisOf(id)).toBeLessThanOrEqual(after);
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids.map((id) => id.slice(12))).size).toBe(ids.length);
  });

  it('answers unknown paths with a JSON 404', async () => {
    const response = await fetch(`${gw.url}/nope`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found' });
  });

  it('refuses batched requests and GET mutations (CSRF)', async () => {
    const batched = await fetch(`${gw.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ROOT_SECRET}` },
      body: JSON.stringify([{ query: '{ viewer { id } }' }, { query: '{ viewer { id } }' }]),
    });
    expect(batched.status).toBe(400);
    const simpleGet = await fetch(`${gw.url}/graphql?query=${encodeURIComponent('{ viewer { id } }')}`, {
      headers: { authorization: `Bearer ${ROOT_SECRET}` },
    });
    expect(simpleGet.status).toBe(400);
    expect(await simpleGet.text()).not.toContain('tok_bootstrap');
  });
});
