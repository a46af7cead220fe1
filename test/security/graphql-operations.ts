import { Kind, parse, print, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { Role, type KeyledgerRole } from '../../src/domain/access/roles';
import { createConnection } from '../helpers/connections-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { graphql, ISSUE_TOKEN, REVOKE_TOKEN, VERIFY_TOKEN } from '../helpers/graphql-client';
import { CREATE_PARTNER_CREDENTIAL, createPartnerCredential, EXCHANGE, graphqlExchange, REVOKE_PARTNER_CREDENTIAL } from '../helpers/partner-client';
import { ALLOWED_DOMAIN, TENANT_A, TENANT_B, TENANT_NOBODY, type SecurityGateway } from './fixtures';

export interface Call {
  query: string;
  variables: Record<string, unknown>;
}

/** How an operation aimed at tenant B's resources, by tenant A's admin, must answer. */
export type ForeignOutcome =
  | { expect: 'NOT_FOUND' }
  /** The data at `path` is null, and nothing of B's is in the answer. */
  | { expect: 'nothing'; path: string }
  /** The list at `path` holds only tenant A's nodes. */
  | { expect: 'own only'; path: string }
  /** The report at `path` is of tenant A's audit chain: its head hash is an entry of A's chain, none of B's. */
  | { expect: 'own chain'; path: string };

export interface Escalation {
  name: string;
  /** The bearer attempting it, from the fixtures. */
  bearer(s: SecurityGateway): string;
  call(s: SecurityGateway): Promise<Call>;
  code: 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'CONFLICT';
}

export interface OperationSecurity {
  /** Why the operation needs no keyledger bearer, for the few that are public. */
  public?: string;
  /** The keyledger role it needs; 'any' when any valid credential will do. */
  role: KeyledgerRole | 'any' | 'none';
  /** The operation on fresh resources of tenant A: a holder of exactly `role` succeeds. */
  own(s: SecurityGateway): Promise<Call>;
  /** The same operation on tenant B's resources by tenant A's admin. */
  foreign?(s: SecurityGateway): Promise<Call & ForeignOutcome>;
  escalations?: Escalation[];
}

let counter = 0;
const unique = (label: string) => `${label}-${++counter}`;

async function tokenA(s: SecurityGateway, roles: string[] = ['orders:read']) {
  return issueToken(s.gw.url, ROOT_SECRET, { name: unique('own token'), tenantId: TENANT_A, roles });
}

async function meteredA(s: SecurityGateway) {
  return issueToken(s.gw.url, ROOT_SECRET, {
    name: unique('metered token'),
    tenantId: TENANT_A,
    credits: { remaining: 1 },
    rateLimits: [{ name: 'burst', limit: 1, durationSeconds: 60 }],
  });
}

async function connectionA(s: SecurityGateway) {
  const name = unique('conn');
  await createConnection(s.gw.url, ROOT_SECRET, { integration: 'zis', name, headerName: 'x-api-key', apiKey: 'tenant-a-third-party-key', allowedDomain: ALLOWED_DOMAIN, tenantId: TENANT_A });
  return { integration: 'zis', name };
}

async function partnerA(s: SecurityGateway) {
  return createPartnerCredential(s.gw.url, ROOT_SECRET, { name: unique('partner'), subTenantIds: ['branch-a'], tenantId: TENANT_A });
}

async function partnerJwtA(s: SecurityGateway): Promise<string> {
  const response = await graphqlExchange(s.gw.url, await partnerA(s), TENANT_A, 'branch-a');
  return response.data!.exchangePartnerCredential.accessToken;
}

const TOKEN = 'query($id: ID!) { token(id: $id) { id tenantId name roles } }';
const TOKEN_USAGE = 'query($id: ID!, $from: DateTime!, $to: DateTime!) { tokenUsage(id: $id, from: $from, to: $to) { start total } }';
const IDENTITY_USAGE =
  'query($e: String!, $t: String, $from: DateTime!, $to: DateTime!) { tokenUsage(externalId: $e, tenantId: $t, from: $from, to: $to) { start total } }';
const USAGE_RANGE = { from: new Date(Date.now() - 3600_000).toISOString(), to: new Date(Date.now() + 3600_000).toISOString() };
const METERED_VERIFY = 'query($token: String!, $cost: Int, $rateLimits: [RateLimitUseInput!]) { verifyToken(token: $token, cost: $cost, rateLimits: $rateLimits) { code remaining } }';
const TOKENS = 'query($filter: TokenFilter) { tokens(first: 100, filter: $filter) { totalCount edges { node { id tenantId name } } } }';
const UPDATE_TOKEN = 'mutation($input: UpdateTokenInput!) { updateToken(input: $input) { id roles } }';
const ROTATE_TOKEN = 'mutation($input: RotateTokenInput!) { rotateToken(input: $input) { secret token { id } } }';
const IMPORT_TOKEN = 'mutation($input: ImportTokenInput!) { importToken(input: $input) { id roles tenantId } }';
const CONNECTION = 'query($i: String!, $n: String!, $t: ID) { apiKeyConnection(integration: $i, name: $n, tenantId: $t) { name tenantId apiKey } }';
const CONNECTIONS = 'query($i: String!, $t: ID) { apiKeyConnections(integration: $i, first: 100, tenantId: $t) { totalCount edges { node { name tenantId } } } }';
const CREATE_CONNECTION = 'mutation($input: CreateApiKeyConnectionInput!) { createApiKeyConnection(input: $input) { name tenantId } }';
const UPDATE_CONNECTION = 'mutation($input: UpdateApiKeyConnectionInput!) { updateApiKeyConnection(input: $input) { name headerName } }';
const DELETE_CONNECTION = 'mutation($i: String!, $n: String!, $t: ID) { deleteApiKeyConnection(integration: $i, name: $n, tenantId: $t) }';
const USE_CONNECTION = 'mutation($i: String!, $n: String!, $u: String!, $t: ID) { useApiKeyConnection(integration: $i, name: $n, url: $u, tenantId: $t) { headerName apiKey } }';
const PARTNER = 'query($id: ID!) { partnerCredential(id: $id) { id tenantId name } }';
const PARTNERS = 'query($t: ID) { partnerCredentials(first: 100, tenantId: $t) { totalCount edges { node { id tenantId name } } } }';
const VERIFY_PARTNER = 'query($token: String!, $t: ID!, $st: ID!) { verifyPartnerAccessToken(token: $token, tenantId: $t, subTenantId: $st) { valid code credentialId tenantId } }';
const AUDIT_LOG = 'query($t: ID, $filter: AuditLogFilter) { auditLog(first: 100, tenantId: $t, filter: $filter) { edges { node { id tenantId resource { id } } } } }';
const AUDIT_HEADS = 'query($t: ID) { auditSignedHeads(first: 10, tenantId: $t) { edges { node { tenantId } } } }';
const AUDIT_INTEGRITY = 'query($t: ID) { auditIntegrity(tenantId: $t) { ok entries head } }';
const AUDIT_FINGERPRINT = 'query($v: String!) { auditFingerprint(value: $v) }';
const SIGN_HEAD = 'mutation($t: ID) { signAuditHead(tenantId: $t) { tenantId entries hash } }';

/** A non-root caller naming another tenant: refused alike whether or not that tenant exists. */
function namingOtherTenants(role: (s: SecurityGateway) => string, call: (tenantId: string, s: SecurityGateway) => Promise<Call>): Escalation[] {
  return [TENANT_B, TENANT_NOBODY].map((tenantId) => ({
    name: `a non-root caller names tenant ${tenantId}`,
    bearer: role,
    call: (s) => call(tenantId, s),
    code: 'FORBIDDEN',
  }));
}

const admin = (s: SecurityGateway) => s.principals.adminA;
const tokensWriter = (s: SecurityGateway) => s.principals.exact[Role.tokensWrite];
const webhookWriter = (s: SecurityGateway) => s.principals.exact[Role.webhookTokensWrite];
const webhookHolder = (s: SecurityGateway) => s.principals.webhookA.secret;

async function webhookTokenOf(s: SecurityGateway, tenantId: string, roles: string[] = []) {
  return issueToken(s.gw.url, ROOT_SECRET, { name: unique('webhook'), tenantId, kind: 'WEBHOOK_TOKEN', ownerId: 'user-2', roles });
}

/**
 * What keyledger:webhook-tokens:write and a webhook token acting on itself may not do to the
 * token `call` names: tokens of another kind, tokens with keyledger roles, other tokens, another tenant.
 */
function webhookReachEscalations(call: (id: string) => Call): Escalation[] {
  const aimedAt = (make: (s: SecurityGateway) => Promise<{ id: string }>) => async (s: SecurityGateway) => call((await make(s)).id);
  return [
    { name: 'a webhook-tokens:write holder on an API token of its tenant', bearer: webhookWriter, call: aimedAt((s) => tokenA(s)), code: 'FORBIDDEN' },
    {
      name: 'a webhook-tokens:write holder on a webhook token holding a keyledger role',
      bearer: webhookWriter,
      call: aimedAt((s) => webhookTokenOf(s, TENANT_A, [Role.tokensRead])),
      code: 'FORBIDDEN',
    },
    { name: "a webhook-tokens:write holder on tenant B's webhook token", bearer: webhookWriter, call: aimedAt((s) => webhookTokenOf(s, TENANT_B)), code: 'NOT_FOUND' },
    { name: 'a webhook token on another webhook token of its tenant', bearer: webhookHolder, call: aimedAt((s) => webhookTokenOf(s, TENANT_A)), code: 'FORBIDDEN' },
    { name: 'a webhook token on an API token of its tenant', bearer: webhookHolder, call: aimedAt((s) => tokenA(s)), code: 'FORBIDDEN' },
    { name: "a webhook token on tenant B's webhook token", bearer: webhookHolder, call: aimedAt((s) => webhookTokenOf(s, TENANT_B)), code: 'FORBIDDEN' },
  ];
}

/**
 * Every root field of the schema, with what protects it. The table is checked against
 * schema/schema.graphql: an operation without an entry fails the coverage test.
 */
export const GRAPHQL_OPERATIONS: Record<string, OperationSecurity> = {
  'Query.viewer': {
    role: 'any',
    own: async () => ({ query: '{ viewer { id tenantId roles } }', variables: {} }),
  },
  'Query.token': {
    role: Role.tokensRead,
    own: async (s) => ({ query: TOKEN, variables: { id: (await tokenA(s)).id } }),
    foreign: async (s) => ({ query: TOKEN, variables: { id: s.b.token.id }, expect: 'nothing', path: 'token' }),
    escalations: webhookReachEscalations((id) => ({ query: TOKEN, variables: { id } })).filter(
      // Reading a token carries no power over it, and B's reads as missing (null, no error) for anyone but root.
      (escalation) => !/keyledger role|tenant B/.test(escalation.name),
    ),
  },
  'Query.tokens': {
    role: Role.tokensRead,
    own: async () => ({ query: TOKENS, variables: {} }),
    // Tenant B's token holds this role too: the filter must not reach across tenants.
    foreign: async () => ({ query: TOKENS, variables: { filter: { role: 'orders:read' } }, expect: 'own only', path: 'tokens' }),
    escalations: [
      ...namingOtherTenants(admin, async (tenantId) => ({ query: TOKENS, variables: { filter: { tenantId } } })),
      { name: 'a webhook-tokens:write holder lists without filter: {kind: WEBHOOK_TOKEN}', bearer: webhookWriter, call: async () => ({ query: TOKENS, variables: {} }), code: 'FORBIDDEN' },
      {
        name: 'a webhook-tokens:write holder lists API tokens',
        bearer: webhookWriter,
        call: async () => ({ query: TOKENS, variables: { filter: { kind: 'API_TOKEN' } } }),
        code: 'FORBIDDEN',
      },
      ...namingOtherTenants(webhookWriter, async (tenantId) => ({ query: TOKENS, variables: { filter: { kind: 'WEBHOOK_TOKEN', tenantId } } })),
      { name: 'a webhook token lists tokens', bearer: webhookHolder, call: async () => ({ query: TOKENS, variables: { filter: { kind: 'WEBHOOK_TOKEN' } } }), code: 'FORBIDDEN' },
    ],
  },
  'Query.verifyToken': {
    role: Role.tokensRead,
    own: async (s) => ({ query: VERIFY_TOKEN, variables: { token: (await tokenA(s)).secret } }),
    // An invalid credential is a result, not an error: B's secret reads as unknown here.
    foreign: async (s) => ({ query: VERIFY_TOKEN, variables: { token: s.b.token.secret }, expect: 'nothing', path: 'verifyToken.token' }),
    // A verifier spends a token's credits and rate-limit points; it can never give them back.
    escalations: [
      {
        name: 'a tokens:read holder verifies at a negative cost to refill credits',
        bearer: (s) => s.principals.exact[Role.tokensRead],
        call: async (s) => ({ query: METERED_VERIFY, variables: { token: (await meteredA(s)).secret, cost: -5 } }),
        code: 'BAD_USER_INPUT',
      },
      {
        name: 'a tokens:read holder charges a rate limit a negative cost to lift it',
        bearer: (s) => s.principals.exact[Role.tokensRead],
        call: async (s) => ({ query: METERED_VERIFY, variables: { token: (await meteredA(s)).secret, rateLimits: [{ name: 'burst', cost: -5 }] } }),
        code: 'BAD_USER_INPUT',
      },
    ],
  },
  'Query.tokenUsage': {
    role: Role.tokensRead,
    own: async (s) => ({ query: TOKEN_USAGE, variables: { id: (await tokenA(s)).id, ...USAGE_RANGE } }),
    foreign: async (s) => ({ query: TOKEN_USAGE, variables: { id: s.b.token.id, ...USAGE_RANGE }, expect: 'NOT_FOUND' }),
    escalations: [
      ...namingOtherTenants(admin, async (tenantId) => ({ query: IDENTITY_USAGE, variables: { e: 'customer-1', t: tenantId, ...USAGE_RANGE } })),
      {
        name: 'a webhook-tokens:write holder adds up an identity',
        bearer: webhookWriter,
        call: async () => ({ query: IDENTITY_USAGE, variables: { e: 'customer-1', ...USAGE_RANGE } }),
        code: 'FORBIDDEN',
      },
    ],
  },
  'Query.apiKeyConnection': {
    role: Role.connectionsRead,
    own: async (s) => {
      const { integration, name } = await connectionA(s);
      return { query: CONNECTION, variables: { i: integration, n: name } };
    },
    foreign: async (s) => ({ query: CONNECTION, variables: { i: s.b.connection.integration, n: s.b.connection.name }, expect: 'nothing', path: 'apiKeyConnection' }),
    escalations: namingOtherTenants(admin, async (tenantId, s) => ({ query: CONNECTION, variables: { i: s.b.connection.integration, n: s.b.connection.name, t: tenantId } })),
  },
  'Query.apiKeyConnections': {
    role: Role.connectionsRead,
    own: async () => ({ query: CONNECTIONS, variables: { i: 'zis' } }),
    foreign: async (s) => ({ query: CONNECTIONS, variables: { i: s.b.connection.integration }, expect: 'own only', path: 'apiKeyConnections' }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: CONNECTIONS, variables: { i: 'zis', t: tenantId } })),
  },
  'Query.partnerCredential': {
    role: Role.tokensRead,
    own: async (s) => ({ query: PARTNER, variables: { id: (await partnerA(s)).id } }),
    foreign: async (s) => ({ query: PARTNER, variables: { id: s.b.partner.id }, expect: 'nothing', path: 'partnerCredential' }),
  },
  'Query.partnerCredentials': {
    role: Role.tokensRead,
    own: async () => ({ query: PARTNERS, variables: {} }),
    foreign: async () => ({ query: PARTNERS, variables: {}, expect: 'own only', path: 'partnerCredentials' }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: PARTNERS, variables: { t: tenantId } })),
  },
  'Query.verifyPartnerAccessToken': {
    role: Role.tokensRead,
    own: async (s) => ({ query: VERIFY_PARTNER, variables: { token: await partnerJwtA(s), t: TENANT_A, st: 'branch-a' } }),
    foreign: async (s) => ({ query: VERIFY_PARTNER, variables: { token: s.b.partner.jwt, t: TENANT_B, st: 'branch-b' }, expect: 'nothing', path: 'verifyPartnerAccessToken.credentialId' }),
  },
  'Query.auditLog': {
    role: Role.auditRead,
    own: async () => ({ query: AUDIT_LOG, variables: {} }),
    foreign: async (s) => ({ query: AUDIT_LOG, variables: { filter: { resourceId: s.b.token.id } }, expect: 'own only', path: 'auditLog' }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: AUDIT_LOG, variables: { t: tenantId } })),
  },
  'Query.auditSignedHeads': {
    role: Role.auditRead,
    own: async () => ({ query: AUDIT_HEADS, variables: {} }),
    foreign: async () => ({ query: AUDIT_HEADS, variables: {}, expect: 'own only', path: 'auditSignedHeads' }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: AUDIT_HEADS, variables: { t: tenantId } })),
  },
  'Query.auditIntegrity': {
    role: Role.auditRead,
    own: async () => ({ query: AUDIT_INTEGRITY, variables: {} }),
    foreign: async () => ({ query: AUDIT_INTEGRITY, variables: {}, expect: 'own chain', path: 'auditIntegrity' }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: AUDIT_INTEGRITY, variables: { t: tenantId } })),
  },
  'Query.auditFingerprint': {
    role: Role.auditRead,
    own: async () => ({ query: AUDIT_FINGERPRINT, variables: { v: 'some-secret-value-0123456789' } }),
  },

  'Mutation.issueToken': {
    role: Role.tokensWrite,
    own: async () => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('issued'), roles: ['orders:read'] } } }),
    escalations: [
      ...[Role.admin, Role.root, Role.auditRead, Role.connectionsUse].map((role) => ({
        name: `a tokens:write holder grants ${role}`,
        bearer: tokensWriter,
        call: async () => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('escalated'), roles: [role] } } }),
        code: 'FORBIDDEN' as const,
      })),
      {
        name: 'an admin grants keyledger:root',
        bearer: admin,
        call: async () => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('escalated'), roles: [Role.root] } } }),
        code: 'FORBIDDEN',
      },
      {
        name: 'an unknown keyledger: role is refused, not granted',
        bearer: admin,
        call: async () => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('escalated'), roles: ['keyledger:superuser'] } } }),
        code: 'BAD_USER_INPUT',
      },
      ...namingOtherTenants(admin, async (tenantId) => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('elsewhere'), tenantId } } })),
      ...(
        [
          ['an API token', { kind: 'API_TOKEN' }],
          ['an integration key', { kind: 'INTEGRATION_KEY', integrationId: 'int-a' }],
          ...[Role.webhookTokensWrite, Role.tokensRead, Role.connectionsUse].map((role) => [`a webhook token holding ${role}`, { kind: 'WEBHOOK_TOKEN', ownerId: 'user-1', roles: [role] }]),
        ] as Array<[string, Record<string, unknown>]>
      ).map(([what, input]) => ({
        name: `a webhook-tokens:write holder issues ${what}`,
        bearer: webhookWriter,
        call: async () => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('narrow'), ...input } } }),
        code: 'FORBIDDEN' as const,
      })),
      ...namingOtherTenants(webhookWriter, async (tenantId) => ({
        query: ISSUE_TOKEN,
        variables: { input: { name: unique('elsewhere'), kind: 'WEBHOOK_TOKEN', ownerId: 'user-1', tenantId } },
      })),
      {
        name: 'a webhook token issues a webhook token',
        bearer: webhookHolder,
        call: async () => ({ query: ISSUE_TOKEN, variables: { input: { name: unique('by holder'), kind: 'WEBHOOK_TOKEN', ownerId: 'user-1' } } }),
        code: 'FORBIDDEN',
      },
    ],
  },
  'Mutation.importToken': {
    role: Role.tokensWrite,
    own: async () => ({ query: IMPORT_TOKEN, variables: { input: { name: unique('imported'), secret: `imported-secret-${unique('s')}-0123456789` } } }),
    escalations: [
      {
        name: 'a tokens:write holder imports a secret with keyledger:admin',
        bearer: tokensWriter,
        call: async () => ({ query: IMPORT_TOKEN, variables: { input: { name: unique('imported'), secret: `imported-secret-${unique('s')}-0123456789`, roles: [Role.admin] } } }),
        code: 'FORBIDDEN',
      },
      ...namingOtherTenants(admin, async (tenantId) => ({
        query: IMPORT_TOKEN,
        variables: { input: { name: unique('imported'), secret: `imported-secret-${unique('s')}-0123456789`, tenantId } },
      })),
      {
        // The secret would otherwise authenticate as A's token or B's, depending on what a process had cached.
        name: "tenant A imports the secret tenant B already imported (squatting)",
        bearer: admin,
        call: async (s) => ({ query: IMPORT_TOKEN, variables: { input: { name: unique('squatted'), secret: s.b.importedSecret } } }),
        code: 'CONFLICT',
      },
    ],
  },
  'Mutation.updateToken': {
    role: Role.tokensWrite,
    own: async (s) => ({ query: UPDATE_TOKEN, variables: { input: { id: (await tokenA(s)).id, roles: ['orders:write'] } } }),
    foreign: async (s) => ({ query: UPDATE_TOKEN, variables: { input: { id: s.b.token.id, name: 'renamed by a' } }, expect: 'NOT_FOUND' }),
    escalations: [
      {
        name: 'a tokens:write holder adds keyledger:admin to its own token',
        bearer: tokensWriter,
        call: async (s) => {
          const viewer = await graphql(s.gw.url, '{ viewer { id } }', {}, s.principals.exact[Role.tokensWrite]);
          return { query: UPDATE_TOKEN, variables: { input: { id: viewer.data!.viewer.id, roles: [Role.tokensWrite, Role.admin] } } };
        },
        code: 'FORBIDDEN',
      },
      {
        name: 'a tokens:write holder changes a token holding keyledger:admin',
        bearer: tokensWriter,
        call: async (s) => ({ query: UPDATE_TOKEN, variables: { input: { id: (await tokenA(s, [Role.admin])).id, name: 'taken over' } } }),
        code: 'FORBIDDEN',
      },
    ],
  },
  'Mutation.rotateToken': {
    role: Role.tokensWrite,
    own: async (s) => ({ query: ROTATE_TOKEN, variables: { input: { id: (await tokenA(s)).id, gracePeriodSeconds: 0 } } }),
    foreign: async (s) => ({ query: ROTATE_TOKEN, variables: { input: { id: s.b.token.id, gracePeriodSeconds: 0 } }, expect: 'NOT_FOUND' }),
    escalations: [
      {
        // The new secret would hand the caller the admin's power.
        name: 'a tokens:write holder rotates a token holding keyledger:admin',
        bearer: tokensWriter,
        call: async (s) => ({ query: ROTATE_TOKEN, variables: { input: { id: (await tokenA(s, [Role.admin])).id, gracePeriodSeconds: 0 } } }),
        code: 'FORBIDDEN',
      },
      ...webhookReachEscalations((id) => ({ query: ROTATE_TOKEN, variables: { input: { id, gracePeriodSeconds: 0 } } })),
    ],
  },
  'Mutation.revokeToken': {
    role: Role.tokensWrite,
    own: async (s) => ({ query: REVOKE_TOKEN, variables: { input: { id: (await tokenA(s)).id } } }),
    foreign: async (s) => ({ query: REVOKE_TOKEN, variables: { input: { id: s.b.token.id } }, expect: 'NOT_FOUND' }),
    escalations: [
      {
        name: 'a tokens:write holder revokes a token holding keyledger:admin',
        bearer: tokensWriter,
        call: async (s) => ({ query: REVOKE_TOKEN, variables: { input: { id: (await tokenA(s, [Role.admin])).id } } }),
        code: 'FORBIDDEN',
      },
      ...webhookReachEscalations((id) => ({ query: REVOKE_TOKEN, variables: { input: { id } } })),
    ],
  },
  'Mutation.createApiKeyConnection': {
    role: Role.connectionsWrite,
    own: async () => ({
      query: CREATE_CONNECTION,
      variables: { input: { integration: 'zis', name: unique('created'), headerName: 'x-api-key', apiKey: 'a-third-party-key', allowedDomain: ALLOWED_DOMAIN } },
    }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({
      query: CREATE_CONNECTION,
      variables: { input: { integration: 'zis', name: unique('created'), headerName: 'x-api-key', apiKey: 'a-third-party-key', allowedDomain: ALLOWED_DOMAIN, tenantId } },
    })),
  },
  'Mutation.updateApiKeyConnection': {
    role: Role.connectionsWrite,
    own: async (s) => ({ query: UPDATE_CONNECTION, variables: { input: { ...(await connectionA(s)), headerName: 'x-other-key', apiKey: 'a-replacement-key' } } }),
    foreign: async (s) => ({ query: UPDATE_CONNECTION, variables: { input: { ...s.b.connection, headerName: 'x-taken-over', apiKey: 'a-replacement-key' } }, expect: 'NOT_FOUND' }),
    escalations: namingOtherTenants(admin, async (tenantId, s) => ({ query: UPDATE_CONNECTION, variables: { input: { ...s.b.connection, headerName: 'x-taken-over', apiKey: 'a-replacement-key', tenantId } } })),
  },
  'Mutation.deleteApiKeyConnection': {
    role: Role.connectionsWrite,
    own: async (s) => {
      const { integration, name } = await connectionA(s);
      return { query: DELETE_CONNECTION, variables: { i: integration, n: name } };
    },
    foreign: async (s) => ({ query: DELETE_CONNECTION, variables: { i: s.b.connection.integration, n: s.b.connection.name }, expect: 'NOT_FOUND' }),
    escalations: namingOtherTenants(admin, async (tenantId, s) => ({ query: DELETE_CONNECTION, variables: { i: s.b.connection.integration, n: s.b.connection.name, t: tenantId } })),
  },
  'Mutation.useApiKeyConnection': {
    role: Role.connectionsUse,
    own: async (s) => {
      const { integration, name } = await connectionA(s);
      return { query: USE_CONNECTION, variables: { i: integration, n: name, u: `https://${ALLOWED_DOMAIN}/v1` } };
    },
    foreign: async (s) => ({ query: USE_CONNECTION, variables: { i: s.b.connection.integration, n: s.b.connection.name, u: `https://${ALLOWED_DOMAIN}/v1` }, expect: 'NOT_FOUND' }),
    escalations: [
      ...namingOtherTenants(admin, async (tenantId, s) => ({
        query: USE_CONNECTION,
        variables: { i: s.b.connection.integration, n: s.b.connection.name, u: `https://${ALLOWED_DOMAIN}/v1`, t: tenantId },
      })),
      ...['https://attacker.example.net/collect', `http://${ALLOWED_DOMAIN}/v1`, `https://${ALLOWED_DOMAIN}.attacker.net/v1`].map((url) => ({
        name: `the key is not handed out for ${url}`,
        bearer: admin,
        call: async (s: SecurityGateway) => {
          const { integration, name } = await connectionA(s);
          return { query: USE_CONNECTION, variables: { i: integration, n: name, u: url } };
        },
        code: 'FORBIDDEN' as const,
      })),
      // URLs other parsers read with another host: refused as ambiguous before the host is judged.
      ...[
        `https://${ALLOWED_DOMAIN}\\@attacker.example.net/`,
        `https://user:pw@${ALLOWED_DOMAIN}/`,
        `https://${ALLOWED_DOMAIN}%2f.attacker.example.net/`,
        `https://${ALLOWED_DOMAIN}\t.attacker.example.net/`,
      ].map((url) => ({
        name: `the key is not handed out for the ambiguous ${JSON.stringify(url)}`,
        bearer: admin,
        call: async (s: SecurityGateway) => {
          const { integration, name } = await connectionA(s);
          return { query: USE_CONNECTION, variables: { i: integration, n: name, u: url } };
        },
        code: 'BAD_USER_INPUT' as const,
      })),
    ],
  },
  'Mutation.createPartnerCredential': {
    role: Role.tokensWrite,
    own: async () => ({ query: CREATE_PARTNER_CREDENTIAL, variables: { input: { name: unique('partner'), subTenantIds: [] } } }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: CREATE_PARTNER_CREDENTIAL, variables: { input: { name: unique('partner'), subTenantIds: [], tenantId } } })),
  },
  'Mutation.revokePartnerCredential': {
    role: Role.tokensWrite,
    own: async (s) => ({ query: REVOKE_PARTNER_CREDENTIAL, variables: { input: { id: (await partnerA(s)).id } } }),
    foreign: async (s) => ({ query: REVOKE_PARTNER_CREDENTIAL, variables: { input: { id: s.b.partner.id } }, expect: 'NOT_FOUND' }),
  },
  'Mutation.exchangePartnerCredential': {
    role: 'none',
    public: 'partners authenticate with their API key and secret in the arguments; a bearer adds nothing',
    own: async (s) => {
      const partner = await partnerA(s);
      return { query: EXCHANGE, variables: { apiKey: partner.apiKey, apiSecret: partner.apiSecret, tenantId: TENANT_A, subTenantId: 'branch-a' } };
    },
    escalations: [
      {
        name: "tenant B's partner key with tenant A",
        bearer: admin,
        call: async (s) => ({ query: EXCHANGE, variables: { apiKey: s.b.partner.apiKey, apiSecret: s.b.partner.apiSecret, tenantId: TENANT_A, subTenantId: 'branch-a' } }),
        code: 'FORBIDDEN',
      },
      {
        name: 'a subtenant the credential is not bound to',
        bearer: admin,
        call: async (s) => {
          const partner = await partnerA(s);
          return { query: EXCHANGE, variables: { apiKey: partner.apiKey, apiSecret: partner.apiSecret, tenantId: TENANT_A, subTenantId: 'branch-z' } };
        },
        code: 'FORBIDDEN',
      },
      {
        name: 'a wrong secret',
        bearer: admin,
        call: async (s) => {
          const partner = await partnerA(s);
          return { query: EXCHANGE, variables: { apiKey: partner.apiKey, apiSecret: `${partner.apiSecret.slice(0, -2)}xx`, tenantId: TENANT_A, subTenantId: 'branch-a' } };
        },
        code: 'UNAUTHENTICATED',
      },
    ],
  },
  'Mutation.signAuditHead': {
    role: Role.auditRead,
    own: async () => ({ query: SIGN_HEAD, variables: {} }),
    foreign: async () => ({ query: SIGN_HEAD, variables: {}, expect: 'own chain', path: 'signAuditHead' }),
    escalations: namingOtherTenants(admin, async (tenantId) => ({ query: SIGN_HEAD, variables: { t: tenantId } })),
  },

  'Subscription.tokenRevoked': {
    role: Role.tokensRead,
    own: async () => ({ query: 'subscription { tokenRevoked { tokenId } }', variables: {} }),
  },
};

/**
 * The call with an `idempotencyKey` on its mutation, so that refusals are also checked to
 * claim no key. Queries are returned as they are.
 */
export function withIdempotencyKey(call: Call, key: string): Call {
  const document = parse(call.query);
  const operation = document.definitions[0] as OperationDefinitionNode;
  if (operation.operation !== 'mutation') return call;
  const name = (value: string) => ({ kind: Kind.NAME, value }) as const;
  const [root, ...rest] = operation.selectionSet.selections as FieldNode[];
  const keyed: OperationDefinitionNode = {
    ...operation,
    variableDefinitions: [
      ...(operation.variableDefinitions ?? []),
      { kind: Kind.VARIABLE_DEFINITION, variable: { kind: Kind.VARIABLE, name: name('idempotencyKey') }, type: { kind: Kind.NAMED_TYPE, name: name('String') } },
    ],
    selectionSet: {
      ...operation.selectionSet,
      selections: [
        { ...root, arguments: [...(root.arguments ?? []), { kind: Kind.ARGUMENT, name: name('idempotencyKey'), value: { kind: Kind.VARIABLE, name: name('idempotencyKey') } }] },
        ...rest,
      ],
    },
  };
  return { query: print({ ...document, definitions: [keyed] }), variables: { ...call.variables, idempotencyKey: key } };
}

/** Fields whose successful call appends events by design, so a refused call is compared with that. */
export const MUTATING = (field: string) => field.startsWith('Mutation.') && field !== 'Mutation.signAuditHead';
