import fc from 'fast-check';
import { signedHeaders } from '../helpers/secret-scanning';
import { generateToken } from '../../src/crypto/token-format';
import {
  anyText,
  expectSafeAnswer,
  expectStillHealthy,
  fuzzParameters,
  fuzzTimeout,
  headerSafe,
  hostileToken,
  nearMiss,
  send,
  startFuzzTarget,
  type FuzzTarget,
} from '../helpers/hostile-input';

/** Any JSON, or a plausible body with hostile fields, or text that is not JSON at all. */
const jsonBody = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record(fields).map((body) => JSON.stringify(body)) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }).map((body) => JSON.stringify(body)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 5000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '{"a":', 'null', '[]', '"x"', '{"__proto__":{"polluted":"yes"}}', '\u0000', 'not json', '{"a":1}garbage') },
    { weight: 1, arbitrary: anyText(300) },
  );

/** A plausible value for a field, or any value at all. */
const value = <T>(plausible: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 6, arbitrary: plausible }, { weight: 1, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 3 }), anyText(200)) });

/** Text for a header or a query string: long runs stay under Node's 16 KB header limit most of the time. */
const headerText = (maxLength: number) => anyText(maxLength, 3000);

/** A URL-encoded form of known and unknown parameters, repeated ones, raw bytes and oversized values. */
const formBody = (fields: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.record(fields, { requiredKeys: [] }), fc.array(fc.tuple(anyText(20), anyText(60)), { maxLength: 3 }))
        .map(([known, extra]) => new URLSearchParams([...(Object.entries(known) as Array<[string, string]>), ...extra]).toString()),
    },
    { weight: 1, arbitrary: fc.array(fc.constantFrom('grant_type=client_credentials', 'token=x', 'a', '=', '&&', '%', '%zz', 'a=%E0%A4%A', 'tenant_id=a&tenant_id=b'), { maxLength: 25 }).map((parts) => parts.join('&')) },
    { weight: 1, arbitrary: anyText(300) },
  );

/** A path segment of any text, percent-encoded (or left raw, with invalid escapes). */
const segment = (plausible: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: plausible },
    { weight: 1, arbitrary: headerText(80).filter((text) => text.length > 0).map((text) => encodeURIComponent(text)) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '..', '%2e%2e', '%00', 'a'.repeat(2000)) },
  );

const CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/jwt', ''];

interface Request {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function requests(target: FuzzTarget): fc.Arbitrary<Request> {
  const bearer = fc.oneof({ weight: 4, arbitrary: fc.constant(target.admin) }, { weight: 1, arbitrary: fc.constant(target.reader) }, { weight: 1, arbitrary: hostileToken(target) });
  const contentType = (usual: string) => fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) });
  const integration = segment(fc.oneof(fc.constant(target.connection.integration), fc.stringMatching(/^[a-z0-9-]{1,70}$/)));
  // Never the fixture connection itself: its key must stay what the secret list says.
  const name = segment(fc.stringMatching(/^[a-z0-9-]{1,70}$/).filter((text) => text !== target.connection.name));
  const keysPath = fc
    .tuple(segment(fc.constantFrom(target.tenant, 'other-app')), segment(fc.constantFrom('int-1', 'int-2')))
    .map(([app, integrationId]) => `/v2/apps/${app}/integrations/${integrationId}/keys`);
  const basic = fc
    .tuple(
      fc.oneof(fc.constant(target.partner.apiKey), nearMiss(target.partner.apiKey), headerText(40)),
      fc.oneof(fc.constant(target.partner.apiSecret), nearMiss(target.partner.apiSecret), headerText(40)),
    )
    .map(([id, secret]) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`);
  const oauthAuthorization = fc.option(fc.oneof(basic, bearer.map((token) => `Bearer ${token}`), headerText(80)), { nil: undefined });
  const form = formBody({
    grant_type: fc.oneof(fc.constant('client_credentials'), anyText(30, 8000)),
    client_id: fc.oneof(fc.constant(target.partner.apiKey), nearMiss(target.partner.apiKey), anyText(40, 8000)),
    client_secret: fc.oneof(fc.constant(target.partner.apiSecret), nearMiss(target.partner.apiSecret), anyText(40, 8000)),
    tenant_id: fc.oneof(fc.constant(target.tenant), anyText(40, 8000)),
    sub_tenant_id: fc.oneof(fc.constant('sub'), anyText(40, 8000)),
    token: fc.oneof(hostileToken(target), fc.constant(target.partnerAccessToken)),
    token_type_hint: fc.oneof(fc.constantFrom('access_token', 'refresh_token'), anyText(20, 8000)),
  });

  return fc.oneof(
    fc.record({
      method: fc.constantFrom('POST', 'POST', 'PUT', 'PATCH'),
      path: keysPath,
      headers: fc.tuple(bearer, contentType('application/json')).map(([token, type]) => ({ authorization: `Bearer ${token}`, 'content-type': type })),
      body: jsonBody({ displayName: value(anyText(200)) }),
    }),
    fc.record({
      method: fc.constant('GET'),
      path: fc.tuple(keysPath, fc.option(segment(fc.constantFrom(target.integrationKey.id, 'tok_missing')), { nil: undefined })).map(([path, keyId]) => (keyId ? `${path}/${keyId}` : path)),
      headers: bearer.map((token) => ({ authorization: `Bearer ${token}` })),
    }),
    fc.record({
      method: fc.constant('DELETE'),
      // Never the fixture key: the health check after the run verifies it.
      path: fc.tuple(keysPath, segment(fc.constant('tok_missing'))).map(([path, keyId]) => `${path}/${keyId}`),
      headers: bearer.map((token) => ({ authorization: `Bearer ${token}` })),
    }),
    fc.record({
      method: fc.constant('POST'),
      path: integration.map((name) => `/api/services/zis/integrations/${name}/connections/api_key`),
      headers: fc.tuple(bearer, contentType('application/json')).map(([token, type]) => ({ authorization: `Bearer ${token}`, 'content-type': type })),
      body: jsonBody({
        name: value(fc.stringMatching(/^[a-z0-9-]{1,70}$/)),
        header_name: value(fc.constantFrom('x-api-key', 'Authorization', 'x\r\ny: 1')),
        api_key: value(anyText(300)),
        allowed_domain: value(fc.oneof(fc.domain(), fc.constantFrom('*', 'localhost'))),
      }),
    }),
    fc.record({
      method: fc.constantFrom('PATCH', 'GET', 'DELETE'),
      path: fc.tuple(integration, name).map(([integrationName, connection]) => `/api/services/zis/integrations/${integrationName}/connections/api_key/${connection}`),
      headers: fc.tuple(bearer, contentType('application/json')).map(([token, type]) => ({ authorization: `Bearer ${token}`, 'content-type': type })),
      body: jsonBody({ header_name: value(fc.constantFrom('x-api-key', 'X-Other')), api_key: value(anyText(300)), allowed_domain: value(fc.domain()) }),
    }),
    fc.record({
      method: fc.oneof({ weight: 5, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') }),
      path: fc.constantFrom('/oauth/token', '/oauth/introspect', '/oauth/revoke'),
      headers: fc.tuple(oauthAuthorization, contentType('application/x-www-form-urlencoded')).map(([authorization, type]) => ({
        ...(authorization === undefined ? {} : { authorization }),
        'content-type': type,
      })),
      body: form,
    }),
    // Well-formed OAuth requests with one part hostile, to reach past the form checks.
    fc.record({
      method: fc.constant('POST'),
      path: fc.constant('/oauth/token'),
      headers: fc.constant({ authorization: `Basic ${Buffer.from(`${target.partner.apiKey}:${target.partner.apiSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }),
      body: fc
        .record({ tenant_id: fc.oneof(fc.constant(target.tenant), anyText(60, 4000)), sub_tenant_id: fc.oneof(fc.constantFrom('sub', 'other'), anyText(60, 4000)), scope: anyText(40, 4000) }, { requiredKeys: ['tenant_id', 'sub_tenant_id'] })
        .map((params) => new URLSearchParams({ grant_type: 'client_credentials', ...params }).toString()),
    }),
    fc.record({
      method: fc.constant('POST'),
      path: fc.constantFrom('/oauth/introspect', '/oauth/revoke'),
      headers: bearer.map((token) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' })),
      body: fc
        .record({ token: hostileToken(target), token_type_hint: fc.constantFrom('access_token', 'refresh_token', 'x'), tenant_id: fc.oneof(fc.constant(target.tenant), anyText(40, 4000)), sub_tenant_id: fc.oneof(fc.constant('sub'), anyText(40, 4000)) }, { requiredKeys: ['token'] })
        .map((params) => new URLSearchParams(params).toString()),
    }),
    fc.record({
      method: fc.constant('GET'),
      path: fc.constant('/api/v1/partner/dashboard/auth/token'),
      headers: fc
        .record(
          {
            'x-api-key': fc.oneof(fc.constant(target.partner.apiKey), nearMiss(target.partner.apiKey), headerText(60)),
            'x-api-secret': fc.oneof(fc.constant(target.partner.apiSecret), nearMiss(target.partner.apiSecret), headerText(60)),
            'x-tenant-id': fc.oneof(fc.constant(target.tenant), headerText(60)),
            'x-sub-tenant-id': fc.oneof(fc.constant('sub'), headerText(60)),
          },
          { requiredKeys: [] },
        )
        .map((headers) => headers as Record<string, string>),
    }),
    // Leak routes: public revocation of anything but the target's own secrets, and reports signed with the trusted key.
    fc.record({
      method: fc.oneof({ weight: 5, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE') }),
      path: fc.constant('/credentials/revoke'),
      headers: contentType('application/json').map((type) => ({ 'content-type': type })),
      body: jsonBody({ credentials: value(fc.array(fc.oneof(anyText(600), fc.constant(generateToken('klt'))), { maxLength: 5 })) }),
    }),
    fc
      .tuple(
        jsonBody({ token: value(anyText(300)), type: value(anyText(40)), url: value(fc.oneof(fc.webUrl(), anyText(300))), source: value(anyText(20)) }).map((item) => `[${item}]`),
        fc.oneof(jsonBody({ token: value(anyText(300)) }), fc.constant('')),
        fc.boolean(),
        fc.option(fc.record({ 'github-public-key-identifier': headerText(80), 'github-public-key-signature': headerText(200) }), { nil: undefined }),
      )
      .map(([report, other, reportShaped, hostileHeaders]) => {
        const body = reportShaped ? report : other;
        return { method: 'POST', path: '/secret-scanning/github', headers: hostileHeaders ?? signedHeaders(target.scanner, body), body } as Request;
      }),
    fc.record({
      method: fc.constant('GET'),
      path: fc
        .record(
          {
            format: fc.oneof(fc.constantFrom('ndjson', 'csv', 'json'), headerText(20)),
            from: fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), headerText(40)),
            to: fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), headerText(40)),
            tenantId: fc.oneof(fc.constant(target.tenant), headerText(40)),
          },
          { requiredKeys: [] },
        )
        .map((query) => `/audit/export?${new URLSearchParams(query as Record<string, string>).toString()}`),
      headers: bearer.map((token) => ({ authorization: `Bearer ${token}` })),
    }),
  );
}

/** REST and OAuth bodies, headers and paths that are wrong in every way, against a real gateway. */
describe('hostile REST and OAuth requests', () => {
  let target: FuzzTarget;

  beforeAll(async () => {
    target = await startFuzzTarget();
  });
  afterAll(async () => target?.gw.stop());

  it('never a 5xx, a stack or a secret; the gateway keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(requests(target), async (request) => {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([name, header]) => [name, headerSafe(header)]));
        const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body;
        const answer = await send(`${target.gw.url}${request.path}`, { method: request.method, headers, body });
        expectSafeAnswer(answer, target.secrets);
      }),
      fuzzParameters(200),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await expectStillHealthy(target);
  }, fuzzTimeout(200));
});
