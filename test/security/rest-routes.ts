import { Role, type KeyledgerRole } from '../../src/domain/access/roles';
import { AUDIT_EXPORT_PATH } from '../../src/http/audit-router';
import { CONNECTIONS_PATH } from '../../src/http/connections-router';
import { CONSOLE_PATH } from '../../src/http/console-router';
import { INTEGRATION_KEYS_PATH } from '../../src/http/integration-keys-router';
import { PUBLIC_REVOCATION_PATH } from '../../src/http/leaks/public-revocation-router';
import { SECRET_SCANNING_GITHUB_PATH } from '../../src/http/leaks/secret-scanning-router';
import { OAUTH_PATHS } from '../../src/http/partners/oauth-routes';
import { SOURCE_AUTH_TOKEN_PATH } from '../../src/http/partners/source-auth-token-route';
import { SSF_PATHS } from '../../src/http/ssf/ssf-router';
import { createConnection } from '../helpers/connections-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql } from '../helpers/graphql-client';
import { basic, createPartnerCredential, sourceHeaders } from '../helpers/partner-client';
import { signedHeaders } from '../helpers/secret-scanning';
import { ALLOWED_DOMAIN, TENANT_A, TENANT_B, type SecurityGateway } from './fixtures';

export interface RestAnswer {
  status: number;
  text: string;
}

export interface RouteSecurity {
  /** Why the route takes no keyledger bearer, for the public ones. */
  public?: string;
  role?: KeyledgerRole;
  /** Whether a successful request appends events, so a refused one must append none. */
  mutating?: boolean;
  /** Prepares fresh resources of tenant A, then returns the request on them, sent with this Authorization header (or none). */
  prepare(s: SecurityGateway): Promise<(authorization?: string) => Promise<RestAnswer>>;
  /** The status of a successful request. */
  ok: number;
  /** Prepares tenant B's resources, then returns the request on them by tenant A's admin, which asserts how it is refused. */
  foreign?(s: SecurityGateway): Promise<(authorization: string) => Promise<void>>;
}

async function request(s: SecurityGateway, method: string, path: string, authorization?: string, body?: unknown, form?: Record<string, string>): Promise<RestAnswer> {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
  const response = await fetch(`${s.gw.url}${path}`, {
    method,
    headers,
    body: form ? new URLSearchParams(form).toString() : body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: await response.text() };
}

let counter = 0;
const keysPath = (appId: string, integrationId = 'int-sec') => INTEGRATION_KEYS_PATH.replace(':appId', appId).replace(':integrationId', integrationId);
const connectionsPath = (integration = 'zis') => CONNECTIONS_PATH.replace(':integration', integration);

async function integrationKeyA(s: SecurityGateway): Promise<string> {
  const issued = await issueToken(s.gw.url, ROOT_SECRET, { name: `rest key ${++counter}`, kind: 'INTEGRATION_KEY', integrationId: `int-sec-${counter}`, tenantId: TENANT_A });
  return `${keysPath(TENANT_A, `int-sec-${counter}`)}/${issued.id}`;
}

async function connectionA(s: SecurityGateway): Promise<string> {
  const name = `rest-conn-${++counter}`;
  await createConnection(s.gw.url, ROOT_SECRET, { integration: 'zis', name, headerName: 'x-api-key', apiKey: 'tenant-a-rest-key', allowedDomain: ALLOWED_DOMAIN, tenantId: TENANT_A });
  return `${connectionsPath()}/${name}`;
}

/** Tenant B's integration key, whose path tenant A's callers try. */
async function integrationKeyB(s: SecurityGateway): Promise<string> {
  const issued = await issueToken(s.gw.url, ROOT_SECRET, { name: `b key ${++counter}`, kind: 'INTEGRATION_KEY', integrationId: 'int-b', tenantId: TENANT_B });
  return `${keysPath(TENANT_B, 'int-b')}/${issued.id}`;
}

const bConnectionPath = (s: SecurityGateway) => `${connectionsPath(s.b.connection.integration)}/${s.b.connection.name}`;

async function expectNotFound(answer: Promise<RestAnswer>): Promise<void> {
  const { status, text } = await answer;
  expect({ status, text }).toEqual({ status: 404, text: expect.any(String) });
  expect(text).not.toContain('tenant-b-third-party-key');
}

/** One SSF stream per tenant serves every case; a successful delete makes the next case create another. */
const ssfStreams = new WeakMap<SecurityGateway, { a?: string; b?: string }>();

async function ssfStream(s: SecurityGateway, tenant: 'a' | 'b'): Promise<string> {
  const held = ssfStreams.get(s) ?? {};
  ssfStreams.set(s, held);
  if (!held[tenant]) {
    const created = await request(s, 'POST', SSF_PATHS.streams, `Bearer ${tenant === 'a' ? s.principals.adminA : s.principals.adminB}`, { delivery: { method: 'urn:ietf:rfc:8936' } });
    expect(created.status).toBe(201);
    held[tenant] = JSON.parse(created.text).stream_id as string;
  }
  return held[tenant]!;
}

/** Tenant B's stream, named by tenant A's caller: missing, and unchanged. */
function foreignSsf(method: string, path: (id: string) => string, body?: (id: string) => unknown) {
  return async (s: SecurityGateway) => {
    const id = await ssfStream(s, 'b');
    return async (auth: string) => {
      await expectNotFound(request(s, method, path(id), auth, body?.(id)));
      const still = await request(s, 'GET', `${SSF_PATHS.status}?stream_id=${id}`, `Bearer ${s.principals.adminB}`);
      expect({ status: still.status, body: JSON.parse(still.text) }).toEqual({ status: 200, body: { stream_id: id, status: 'enabled' } });
    };
  };
}

const ssfRoute = (method: string, path: (id: string) => string, ok: number, body?: (id: string) => unknown, mutating = true): RouteSecurity => ({
  role: Role.eventsRead,
  mutating,
  ok,
  prepare: async (s) => {
    const id = await ssfStream(s, 'a');
    return async (auth) => {
      const answer = await request(s, method, path(id), auth, body?.(id));
      if (method === 'DELETE' && answer.status === ok) ssfStreams.get(s)!.a = undefined;
      return answer;
    };
  },
  foreign: foreignSsf(method, path, body),
});

/**
 * Every HTTP route beside /graphql: what protects it, or why it is public. Checked against
 * the route constants of src/http by the coverage test.
 */
export const REST_ROUTES: Record<string, RouteSecurity> = {
  [`POST ${INTEGRATION_KEYS_PATH}`]: {
    role: Role.tokensWrite,
    mutating: true,
    ok: 201,
    prepare: async (s) => (auth) => request(s, 'POST', keysPath(TENANT_A, `int-new-${++counter}`), auth, { displayName: 'rest key' }),
    foreign: async (s) => (auth) => expectNotFound(request(s, 'POST', keysPath(TENANT_B), auth, { displayName: 'planted by a' })),
  },
  [`GET ${INTEGRATION_KEYS_PATH}`]: {
    role: Role.tokensRead,
    ok: 200,
    prepare: async (s) => (auth) => request(s, 'GET', keysPath(TENANT_A), auth),
    foreign: async (s) => (auth) => expectNotFound(request(s, 'GET', keysPath(TENANT_B, 'int-b'), auth)),
  },
  [`GET ${INTEGRATION_KEYS_PATH}/:keyId`]: {
    role: Role.tokensRead,
    ok: 200,
    prepare: async (s) => {
      const path = await integrationKeyA(s);
      return (auth) => request(s, 'GET', path, auth);
    },
    foreign: async (s) => {
      const path = await integrationKeyB(s);
      return (auth) => expectNotFound(request(s, 'GET', path, auth));
    },
  },
  [`DELETE ${INTEGRATION_KEYS_PATH}/:keyId`]: {
    role: Role.tokensWrite,
    mutating: true,
    ok: 200,
    prepare: async (s) => {
      const path = await integrationKeyA(s);
      return (auth) => request(s, 'DELETE', path, auth);
    },
    foreign: async (s) => {
      const path = await integrationKeyB(s);
      return async (auth) => {
        await expectNotFound(request(s, 'DELETE', path, auth));
        // Also under tenant A's app: the key id alone must not reach B's key.
        await expectNotFound(request(s, 'DELETE', `${keysPath(TENANT_A, 'int-b')}/${path.split('/').pop()}`, auth));
      };
    },
  },
  [`POST ${CONNECTIONS_PATH}`]: {
    role: Role.connectionsWrite,
    mutating: true,
    ok: 201,
    prepare: async (s) => (auth) =>
      request(s, 'POST', connectionsPath(), auth, { name: `rest-new-${++counter}`, header_name: 'x-api-key', api_key: 'a-rest-key', allowed_domain: ALLOWED_DOMAIN }),
  },
  [`GET ${CONNECTIONS_PATH}/:name`]: {
    role: Role.connectionsRead,
    ok: 200,
    prepare: async (s) => {
      const path = await connectionA(s);
      return (auth) => request(s, 'GET', path, auth);
    },
    foreign: async (s) => (auth) => expectNotFound(request(s, 'GET', bConnectionPath(s), auth)),
  },
  [`PATCH ${CONNECTIONS_PATH}/:name`]: {
    role: Role.connectionsWrite,
    mutating: true,
    ok: 204,
    prepare: async (s) => {
      const path = await connectionA(s);
      return (auth) => request(s, 'PATCH', path, auth, { header_name: 'x-other-key', api_key: 'a-replacement-key' });
    },
    foreign: async (s) => (auth) => expectNotFound(request(s, 'PATCH', bConnectionPath(s), auth, { header_name: 'x-taken-over', api_key: 'a-replacement-key' })),
  },
  [`DELETE ${CONNECTIONS_PATH}/:name`]: {
    role: Role.connectionsWrite,
    mutating: true,
    ok: 204,
    prepare: async (s) => {
      const path = await connectionA(s);
      return (auth) => request(s, 'DELETE', path, auth);
    },
    foreign: async (s) => (auth) => expectNotFound(request(s, 'DELETE', bConnectionPath(s), auth)),
  },
  [`GET ${AUDIT_EXPORT_PATH}`]: {
    role: Role.auditRead,
    ok: 200,
    prepare: async (s) => (auth) => request(s, 'GET', AUDIT_EXPORT_PATH, auth),
    foreign: async (s) => async (auth) => {
      // Naming another tenant is refused as in auditLog (documented), whether or not it exists.
      for (const tenantId of [TENANT_B, 'sec-nobody']) {
        const answer = await request(s, 'GET', `${AUDIT_EXPORT_PATH}?tenantId=${tenantId}`, auth);
        expect({ tenantId, status: answer.status }).toEqual({ tenantId, status: 403 });
        expect(answer.text).not.toContain(s.b.token.id);
      }
    },
  },
  [`POST ${OAUTH_PATHS.introspection}`]: {
    role: Role.tokensRead,
    ok: 200,
    prepare: async (s) => (auth) => request(s, 'POST', OAUTH_PATHS.introspection, auth, undefined, { token: s.principals.adminA }),
    foreign: async (s) => async (auth) => {
      const answer = await request(s, 'POST', OAUTH_PATHS.introspection, auth, undefined, { token: s.b.token.secret });
      expect({ status: answer.status, body: JSON.parse(answer.text) }).toEqual({ status: 200, body: { active: false } });
      const jwt = await request(s, 'POST', OAUTH_PATHS.introspection, auth, undefined, { token: s.b.partner.jwt });
      expect({ status: jwt.status, body: JSON.parse(jwt.text) }).toEqual({ status: 200, body: { active: false } });
    },
  },
  [`POST ${OAUTH_PATHS.revocation}`]: {
    role: Role.tokensWrite,
    mutating: true,
    ok: 200,
    prepare: async (s) => {
      const victim = await issueToken(s.gw.url, ROOT_SECRET, { name: `oauth revoked ${++counter}`, tenantId: TENANT_A });
      return (auth) => request(s, 'POST', OAUTH_PATHS.revocation, auth, undefined, { token: victim.secret });
    },
    foreign: async (s) => async (auth) => {
      // RFC 7009 answers 200 for tokens that are not the caller's, and leaves them alone.
      const answer = await request(s, 'POST', OAUTH_PATHS.revocation, auth, undefined, { token: s.b.token.secret });
      expect(answer.status).toBe(200);
      // Read, not verified: a verification would be counted (and appended) as usage.
      const still = await graphql(s.gw.url, 'query($id: ID!) { token(id: $id) { status } }', { id: s.b.token.id }, s.principals.adminB);
      expect(still.data!.token.status).toBe('ACTIVE');
    },
  },
  [`POST ${OAUTH_PATHS.token}`]: {
    public: 'partners authenticate with their client credentials (Basic or form), not a keyledger bearer',
    ok: 200,
    prepare: async (s) => {
      const partner = await createPartnerCredential(s.gw.url, ROOT_SECRET, { name: `oauth ${++counter}`, subTenantIds: [], tenantId: TENANT_A });
      return () =>
        request(s, 'POST', OAUTH_PATHS.token, basic(partner.apiKey, partner.apiSecret), undefined, {
          grant_type: 'client_credentials',
          tenant_id: TENANT_A,
          sub_tenant_id: 'branch-a',
        });
    },
  },
  [`GET ${SOURCE_AUTH_TOKEN_PATH}`]: {
    public: 'partners authenticate with x-api-key and x-api-secret headers, as in the source system',
    ok: 200,
    prepare: async (s) => {
      const partner = await createPartnerCredential(s.gw.url, ROOT_SECRET, { name: `source ${++counter}`, subTenantIds: [], tenantId: TENANT_A });
      return async () => {
        const response = await fetch(`${s.gw.url}${SOURCE_AUTH_TOKEN_PATH}`, { headers: sourceHeaders(partner, TENANT_A, 'branch-a') });
        return { status: response.status, text: await response.text() };
      };
    },
  },
  [`GET ${OAUTH_PATHS.jwks}`]: {
    public: 'public keys, for anyone to verify partner JWTs and signed audit heads',
    ok: 200,
    prepare: async (s) => () => request(s, 'GET', OAUTH_PATHS.jwks),
  },
  [`GET ${OAUTH_PATHS.metadata}`]: {
    public: 'RFC 8414 server metadata is public by definition',
    ok: 200,
    prepare: async (s) => () => request(s, 'GET', OAUTH_PATHS.metadata),
  },
  [`GET ${CONSOLE_PATH}`]: {
    public: 'the console is a page and its scripts; everything it shows comes from the API, with the bearer the person signs in with',
    ok: 200,
    prepare: async (s) => () => request(s, 'GET', CONSOLE_PATH),
  },
  [`POST ${SECRET_SCANNING_GITHUB_PATH}`]: {
    public: "a code host's secret scanning signs each report with its published ECDSA key: the signature over the body authenticates it, not a bearer",
    ok: 200,
    prepare: async (s) => {
      const leaked = await issueToken(s.gw.url, ROOT_SECRET, { name: `scanned ${++counter}`, tenantId: TENANT_A });
      const body = JSON.stringify([{ token: leaked.secret, type: 'keyledger_api_token', url: 'https://github.com/o/r/blob/1/x', source: 'content' }]);
      return async (authorization) => {
        const headers: Record<string, string> = signedHeaders(s.scanner, body);
        if (authorization) headers.authorization = authorization;
        const response = await fetch(`${s.gw.url}${SECRET_SCANNING_GITHUB_PATH}`, { method: 'POST', headers, body });
        return { status: response.status, text: await response.text() };
      };
    },
  },
  [`POST ${PUBLIC_REVOCATION_PATH}`]: {
    public: 'holding a leaked secret is the proof that may revoke it; the answer is the same whatever the secrets were',
    ok: 202,
    prepare: async (s) => () => request(s, 'POST', PUBLIC_REVOCATION_PATH, undefined, { credentials: [`klt_${'A'.repeat(32)}000000`, 'not-a-secret-at-all'] }),
  },
  [`GET ${SSF_PATHS.configuration}`]: {
    public: 'SSF transmitter metadata is public by definition, like RFC 8414 metadata',
    ok: 200,
    prepare: async (s) => () => request(s, 'GET', SSF_PATHS.configuration),
  },
  [`POST ${SSF_PATHS.streams}`]: {
    role: Role.eventsRead,
    mutating: true,
    ok: 201,
    prepare: async (s) => async (auth) => {
      const answer = await request(s, 'POST', SSF_PATHS.streams, auth, { delivery: { method: 'urn:ietf:rfc:8936' } });
      // Keeps the tenant under its stream limit however many cases run.
      if (answer.status === 201) await request(s, 'DELETE', `${SSF_PATHS.streams}?stream_id=${JSON.parse(answer.text).stream_id}`, `Bearer ${s.principals.adminA}`);
      return answer;
    },
  },
  [`GET ${SSF_PATHS.streams}`]: {
    ...ssfRoute('GET', (id) => `${SSF_PATHS.streams}?stream_id=${id}`, 200, undefined, false),
    foreign: async (s) => {
      const id = await ssfStream(s, 'b');
      return async (auth) => {
        await expectNotFound(request(s, 'GET', `${SSF_PATHS.streams}?stream_id=${id}`, auth));
        const all = await request(s, 'GET', SSF_PATHS.streams, auth);
        expect(all.status).toBe(200);
        expect(all.text).not.toContain(id);
      };
    },
  },
  [`PATCH ${SSF_PATHS.streams}`]: ssfRoute('PATCH', () => SSF_PATHS.streams, 200, (id) => ({ stream_id: id, description: 'changed' })),
  [`PUT ${SSF_PATHS.streams}`]: ssfRoute('PUT', () => SSF_PATHS.streams, 200, (id) => ({ stream_id: id, delivery: { method: 'urn:ietf:rfc:8936' } })),
  [`DELETE ${SSF_PATHS.streams}`]: ssfRoute('DELETE', (id) => `${SSF_PATHS.streams}?stream_id=${id}`, 204),
  [`GET ${SSF_PATHS.status}`]: ssfRoute('GET', (id) => `${SSF_PATHS.status}?stream_id=${id}`, 200, undefined, false),
  [`POST ${SSF_PATHS.status}`]: ssfRoute('POST', () => SSF_PATHS.status, 200, (id) => ({ stream_id: id, status: 'enabled' })),
  [`POST ${SSF_PATHS.verify}`]: ssfRoute('POST', () => SSF_PATHS.verify, 204, (id) => ({ stream_id: id, state: 'security' })),
  [`POST ${SSF_PATHS.poll}`]: ssfRoute('POST', (id) => SSF_PATHS.poll.replace(':streamId', id), 200, () => ({ returnImmediately: true, maxEvents: 0 })),
  'GET /healthz': { public: 'liveness probe, holds no data', ok: 200, prepare: async (s) => () => request(s, 'GET', '/healthz') },
  'GET /readyz': { public: 'readiness probe for load balancers, holds no data', ok: 200, prepare: async (s) => () => request(s, 'GET', '/readyz') },
  'GET /metrics': { public: 'Prometheus scrape; counts and latencies only, no tenant data', ok: 200, prepare: async (s) => () => request(s, 'GET', '/metrics') },
};
