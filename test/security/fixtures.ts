import Database from 'better-sqlite3';
import { join } from 'node:path';
import { KEYLEDGER_ROLES, effectiveRoles, Role, type KeyledgerRole } from '../../src/domain/access/roles';
import { encodedForms, findSecrets } from '../helpers/byte-scan';
import { createConnection } from '../helpers/connections-client';
import { startGatewayOnFreshDouble, type EsdbTestGateway } from '../helpers/esdb-gateway';
import { issueToken, ROOT_SECRET, settledHeadPosition, startTestGateway, type TestGateway } from '../helpers/gateway';
import { errorCode, graphql, REVOKE_TOKEN, type GraphQLResponse } from '../helpers/graphql-client';
import { createPartnerCredential, graphqlExchange, REVOKE_PARTNER_CREDENTIAL, type PartnerCredentialFixture } from '../helpers/partner-client';
import { scannerKey, writePublicKeysFile, type ScannerKey } from '../helpers/secret-scanning';
import { makeTempDir } from '../helpers/temp-dir';
import { TestClock } from '../helpers/test-clock';

export const TENANT_A = 'sec-a';
export const TENANT_B = 'sec-b';
/** A tenant nobody has used: naming it must answer exactly as naming tenant B does. */
export const TENANT_NOBODY = 'sec-nobody';
export const ALLOWED_DOMAIN = 'api.example.com';

/** The security suites fail authentication on purpose, many times, from one address. */
export const NO_RATE_LIMITS = {
  KEYLEDGER_RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
  KEYLEDGER_PARTNER_ATTEMPTS_PER_KEY: '10000',
  KEYLEDGER_PARTNER_ATTEMPTS_PER_IP: '10000',
  KEYLEDGER_CONNECTIONS_REST_RATE_LIMIT: '100000',
};

/** Roles an operation can require, besides "any valid credential". */
export const GATED_ROLES = KEYLEDGER_ROLES.filter((role) => role !== Role.root) as KeyledgerRole[];

/**
 * Credentials that must not authenticate, each presented through every door. `malformedJwt`
 * is shaped like a partner access token but its header's `kid` is not a string.
 */
export const UNAUTHENTICATED_KINDS = ['malformed', 'malformedJwt', 'unknown', 'revoked', 'expired'] as const;
export type UnauthenticatedKind = (typeof UNAUTHENTICATED_KINDS)[number];

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT-shaped string with this header, the claims of a partner access token and a signature of the right length. */
export function jwtWithHeader(header: unknown): string {
  const claims = { iss: 'http://127.0.0.1', aud: 'keyledger', sub: 'pc_x', jti: 'j', tenant_id: TENANT_A, sub_tenant_id: 'branch-a', iat: 1, exp: 4102444800 };
  return `${b64url(header)}.${b64url(claims)}.${Buffer.alloc(64, 1).toString('base64url')}`;
}

/** Bearers of tenant A (and a few of tenant B) every table runs its cases with. */
export interface Principals {
  adminA: string;
  adminB: string;
  /** A token of tenant A holding exactly this role. */
  exact: Record<KeyledgerRole, string>;
  /** A token of tenant A holding every keyledger role that does not amount to this one. */
  lacking: Record<KeyledgerRole, string>;
  /** Tenant roles named like keyledger's, which must grant nothing. */
  invented: string;
  /** Credentials that must not authenticate at all. */
  unauthenticated: Record<UnauthenticatedKind, string>;
  /** A partner access JWT of tenant A: it authenticates, with no keyledger roles. */
  partnerJwtA: string;
  /** A user's WEBHOOK_TOKEN of tenant A, holding no roles: it may act on itself only. */
  webhookA: { id: string; secret: string };
}

export const INVENTED_ROLES = ['admin', 'root', 'keyledger-admin', 'Keyledger:Admin', 'KEYLEDGER:ROOT', 'keyledger_tokens_write', 'keyledger.admin'];

/** Tenant B's resources, which tenant A must never see or touch. */
export interface TenantBResources {
  token: { id: string; secret: string; name: string };
  connection: { integration: string; name: string };
  partner: PartnerCredentialFixture & { jwt: string };
  /** A secret tenant B imported, which no other import may take. */
  importedSecret: string;
}

/** The event stores the security tables run on: the embedded one, and EventStoreDB (its gRPC double). */
export const STORES = ['sqlite', 'eventstoredb'] as const;
export type SecurityStore = (typeof STORES)[number];

export interface SecurityGateway {
  store: SecurityStore;
  gw: TestGateway | EsdbTestGateway;
  clock: TestClock;
  principals: Principals;
  b: TenantBResources;
  /** The key the gateway's secret-scanning endpoint trusts, as GitHub's would be. */
  scanner: ScannerKey;
}

/** One gateway on `store` with the principals and tenant B's resources the security tables use. */
export async function startSecurityGateway(store: SecurityStore = 'sqlite'): Promise<SecurityGateway> {
  const clock = new TestClock();
  const scanner = scannerKey('security-scanner-key');
  const keysDir = makeTempDir('scanner-keys');
  const env = { ...NO_RATE_LIMITS, KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: writePublicKeysFile(keysDir.path, [scanner]) };
  const gw = store === 'sqlite' ? await startTestGateway({ clock, env }) : await startGatewayOnFreshDouble({ clock, env });
  const stop = gw.stop.bind(gw);
  gw.stop = async () => {
    await stop();
    keysDir.remove();
  };
  const url = gw.url;
  const token = async (tenantId: string, roles: string[], extra: Record<string, unknown> = {}) =>
    (await issueToken(url, ROOT_SECRET, { name: `principal ${roles.join(' ') || 'none'}`.slice(0, 200), tenantId, roles, ...extra })).secret;

  const exact = {} as Record<KeyledgerRole, string>;
  const lacking = {} as Record<KeyledgerRole, string>;
  for (const role of GATED_ROLES) {
    exact[role] = await token(TENANT_A, [role]);
    lacking[role] = await token(TENANT_A, GATED_ROLES.filter((other) => !effectiveRoles([other]).has(role)));
  }
  const revoked = await issueToken(url, ROOT_SECRET, { name: 'revoked admin', tenantId: TENANT_A, roles: [Role.admin] });
  expect(errorCode(await graphql(url, REVOKE_TOKEN, { input: { id: revoked.id } }, ROOT_SECRET))).toBeUndefined();
  const expired = await token(TENANT_A, [Role.admin], { expiresAt: new Date(clock.now().getTime() + 60_000).toISOString() });

  const partnerA = await createPartnerCredential(url, ROOT_SECRET, { name: 'partner a', subTenantIds: [], tenantId: TENANT_A });
  const partnerJwtA = (await graphqlExchange(url, partnerA, TENANT_A, 'branch-a')).data!.exchangePartnerCredential.accessToken;

  const webhookA = await issueToken(url, ROOT_SECRET, { name: 'user webhook', tenantId: TENANT_A, kind: 'WEBHOOK_TOKEN', ownerId: 'user-1@sec-a' });
  const tokenB = await issueToken(url, ROOT_SECRET, { name: 'tenant b secret name', tenantId: TENANT_B, roles: ['orders:read'] });
  const importedSecretB = 'tenant-b-imported-legacy-secret-0123456789';
  expect(errorCode(await graphql(url, IMPORT_TOKEN, { input: { name: 'b imported', secret: importedSecretB, tenantId: TENANT_B } }, ROOT_SECRET))).toBeUndefined();
  const connectionB = { integration: 'zis', name: 'b-connection' };
  await createConnection(url, ROOT_SECRET, { ...connectionB, headerName: 'x-api-key', apiKey: 'tenant-b-third-party-key', allowedDomain: ALLOWED_DOMAIN, tenantId: TENANT_B });
  const partnerB = await createPartnerCredential(url, ROOT_SECRET, { name: 'partner b', subTenantIds: [], tenantId: TENANT_B });
  const jwtB = (await graphqlExchange(url, partnerB, TENANT_B, 'branch-b')).data!.exchangePartnerCredential.accessToken;

  // Both tenants' chains get heads signed by the periodic round, so listing them can show whose they are.
  const round = await gw.gateway.audit.signChangedHeads();
  expect(round.failed).toEqual([]);
  expect(round.signed.map((head) => head.tenantId)).toEqual(expect.arrayContaining([TENANT_A, TENANT_B]));
  expect(await gw.gateway.runner.waitUntilCaughtUp(20_000)).toBe(true);

  clock.advance(120_000);
  return {
    store,
    gw,
    clock,
    scanner,
    principals: {
      adminA: await token(TENANT_A, [Role.admin]),
      adminB: await token(TENANT_B, [Role.admin]),
      exact,
      lacking,
      invented: await token(TENANT_A, INVENTED_ROLES),
      unauthenticated: {
        malformed: 'not-a-keyledger-credential',
        malformedJwt: jwtWithHeader({ alg: 'ES256', typ: 'at+jwt', kid: true }),
        unknown: `klt_${'A'.repeat(32)}000000`,
        revoked: revoked.secret,
        expired,
      },
      partnerJwtA,
      webhookA: { id: webhookA.id, secret: webhookA.secret },
    },
    b: {
      token: { id: tokenB.id, secret: tokenB.secret, name: 'tenant b secret name' },
      connection: connectionB,
      partner: { ...partnerB, jwt: jwtB },
      importedSecret: importedSecretB,
    },
  };
}

/** Revokes a partner credential through the API. */
export async function revokePartner(url: string, id: string): Promise<void> {
  expect(errorCode(await graphql(url, REVOKE_PARTNER_CREDENTIAL, { input: { id } }, ROOT_SECRET))).toBeUndefined();
}

/**
 * Runs `action` and returns what it appended to the log, by event type. Failed
 * authentications are recorded (`AuthenticationFailed`) in the background, so the head is
 * read once those are written. The log is read where the store keeps it: the embedded
 * store's file, or the double's memory.
 */
export async function appendedBy<T>(gw: TestGateway | EsdbTestGateway, action: () => Promise<T>): Promise<{ result: T; appended: string[] }> {
  const before = await settledHeadPosition(gw.gateway);
  const result = await action();
  await settledHeadPosition(gw.gateway);
  if ('double' in gw) {
    const appended = gw.double.events().filter((event) => (before === null || event.position > before) && !event.type.startsWith('$'));
    return { result, appended: appended.map((event) => event.type) };
  }
  const db = new Database(join(gw.dataDir, 'events.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT type FROM events WHERE position > ? ORDER BY position').all(before === null ? 0 : Number(before)) as Array<{ type: string }>;
    return { result, appended: rows.map((row) => row.type) };
  } finally {
    db.close();
  }
}

/** Every secret the suites present, which no log line or data file may hold. */
export function presentedSecrets(s: SecurityGateway): string[] {
  const { principals, b } = s;
  return [
    principals.adminA,
    principals.adminB,
    principals.invented,
    ...Object.values(principals.exact),
    ...Object.values(principals.lacking),
    principals.unauthenticated.unknown,
    principals.unauthenticated.revoked,
    principals.unauthenticated.expired,
    principals.webhookA.secret,
    b.token.secret,
    b.partner.apiSecret,
    b.importedSecret,
  ];
}

/** Asserts that neither the gateway's logs nor its data directory hold any presented secret. */
export function expectNoSecretsWritten(s: SecurityGateway): void {
  const secrets = presentedSecrets(s);
  const logs = s.gw.logs();
  expect(secrets.filter((secret) => logs.includes(secret)).map((secret) => `${secret.slice(0, 8)}…`)).toEqual([]);
  expect(findSecrets(s.gw.dataDir, secrets)).toEqual([]);
  if ('double' in s.gw) {
    const stored = s.gw.double.events().flatMap((event) => [Buffer.from(event.data), Buffer.from(event.customMetadata)]);
    const held = secrets.filter((secret) => encodedForms(secret).some((form) => stored.some((bytes) => bytes.includes(form))));
    expect(held.map((secret) => `the EventStoreDB log holds ${secret.slice(0, 8)}…`)).toEqual([]);
  }
}

export const IMPORT_TOKEN = 'mutation($input: ImportTokenInput!) { importToken(input: $input) { id roles tenantId } }';

export function codes(response: GraphQLResponse): string[] {
  return (response.errors ?? []).map((error) => String(error.extensions?.code));
}
