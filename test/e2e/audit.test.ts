import Database from 'better-sqlite3';
import { compactVerify, createLocalJWKSet } from 'jose';
import { join } from 'node:path';
import { createConnection, DELETE_CONNECTION, UPDATE_CONNECTION, useConnection } from '../helpers/connections-client';
import { errorCode, graphql, type GraphQLResponse } from '../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';

const AUDIT_LOG = `query Audit($first: Int, $after: String, $filter: AuditLogFilter, $tenantId: ID) {
  auditLog(first: $first, after: $after, filter: $filter, tenantId: $tenantId) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id position occurredAt eventType tenantId subTenantId resource { type id } actor { type id } requestId ip userAgent changes hash } }
  }
}`;
const INTEGRITY = `query Integrity($tenantId: ID) { auditIntegrity(tenantId: $tenantId) { ok entries head firstBreak { eventId position reason } } }`;
const FINGERPRINT = `query Fingerprint($value: String!) { auditFingerprint(value: $value) }`;
const SIGN_HEAD = `mutation Sign($tenantId: ID) { signAuditHead(tenantId: $tenantId) { tenantId position eventId hash entries signedAt jws kid } }`;

/** Every page of a tenant's history, as the raw response bodies and the entries. */
async function wholeLog(url: string, bearer: string, variables: Record<string, unknown> = {}): Promise<{ raw: string; entries: any[] }> {
  let after: string | null = null;
  let raw = '';
  const entries: any[] = [];
  for (;;) {
    const response: GraphQLResponse = await graphql(url, AUDIT_LOG, { ...variables, first: 100, after }, bearer);
    if (response.errors) throw new Error(JSON.stringify(response.errors));
    raw += response.raw;
    const page: { edges: Array<{ node: any }>; pageInfo: { hasNextPage: boolean; endCursor: string } } = response.data!.auditLog;
    entries.push(...page.edges.map((edge) => edge.node));
    if (!page.pageInfo.hasNextPage) return { raw, entries };
    after = page.pageInfo.endCursor;
  }
}

/** The stored forms of secrets the log holds: hashes, tags, ciphertexts, wrapped keys. */
function storedSecretForms(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    const found = new Set<string>();
    const walk = (value: unknown, key = '') => {
      if (typeof value === 'string' && /^(secretHash|lookupTag|ciphertext|blob|iv|tag)$/.test(key) && value.length >= 6) found.add(value);
      else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
    };
    for (const row of db.prepare('SELECT data FROM events').all() as Array<{ data: string }>) walk(JSON.parse(row.data));
    return [...found];
  } finally {
    db.close();
  }
}

describe('audit history', () => {
  let gw: TestGateway;
  let adminA: string;
  let auditorA: string;
  let auditorB: string;
  let noRoleA: string;
  const secrets: string[] = [];
  const apiKeys = ['ak-first-known-connection-key-000001', 'ak-second-known-connection-key-00002'];

  beforeAll(async () => {
    gw = await startTestGateway();
    adminA = (await issueToken(gw.url, ROOT_SECRET, { name: 'admin a', tenantId: 'tenant-a', roles: ['keyledger:admin'] })).secret;
    auditorA = (await issueToken(gw.url, ROOT_SECRET, { name: 'auditor a', tenantId: 'tenant-a', roles: ['keyledger:audit:read'] })).secret;
    auditorB = (await issueToken(gw.url, ROOT_SECRET, { name: 'auditor b', tenantId: 'tenant-b', roles: ['keyledger:audit:read'] })).secret;
    noRoleA = (await issueToken(gw.url, ROOT_SECRET, { name: 'plain a', tenantId: 'tenant-a', roles: ['orders:read'] })).secret;
    secrets.push(adminA, auditorA, auditorB, noRoleA);

    const issued = await issueToken(gw.url, adminA, { name: 'ci bot', roles: ['deploy'] });
    secrets.push(issued.secret);
    const rotated = await graphql(gw.url, `mutation { rotateToken(input: { id: "${issued.id}", gracePeriodSeconds: 0 }) { secret } }`, {}, adminA);
    expect(rotated.errors).toBeUndefined();
    secrets.push(rotated.data!.rotateToken.secret);
    const updated = await graphql(gw.url, `mutation { updateToken(input: { id: "${issued.id}", name: "ci bot 2" }) { id } }`, {}, adminA);
    expect(updated.errors).toBeUndefined();
    const key = await issueToken(gw.url, adminA, { name: 'crm key', kind: 'INTEGRATION_KEY', integrationId: 'crm' });
    secrets.push(key.secret);
    const revoked = await graphql(gw.url, `mutation { revokeToken(input: { id: "${issued.id}", reason: "drill" }) { id } }`, {}, adminA);
    expect(revoked.errors).toBeUndefined();
    await issueToken(gw.url, ROOT_SECRET, { name: 'b only', tenantId: 'tenant-b' });

    await createConnection(gw.url, adminA, { integration: 'crm', name: 'main', headerName: 'x-api-key', apiKey: apiKeys[0], allowedDomain: 'api.example.com' });
    const update = await graphql(gw.url, UPDATE_CONNECTION, { input: { integration: 'crm', name: 'main', apiKey: apiKeys[1] } }, adminA);
    expect(update.errors).toBeUndefined();
    const use = await useConnection(gw.url, adminA, { integration: 'crm', name: 'main', url: 'https://api.example.com/v1/x' });
    expect(use.errors).toBeUndefined();
    const deleted = await graphql(gw.url, DELETE_CONNECTION, { integration: 'crm', name: 'main' }, adminA);
    expect(deleted.errors).toBeUndefined();
    // Uses are recorded off the request path, in batches.
    await eventually(async () => (await wholeLog(gw.url, auditorA, { filter: { eventTypes: ['ConnectionUsed'] } })).entries.length === 1, 10_000);
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
  });

  it('lists one entry per event of the tenant, newest first, with who, what and where', async () => {
    const { entries } = await wholeLog(gw.url, auditorA);
    const types = entries.map((entry) => entry.eventType).reverse();
    expect(types).toEqual(
      expect.arrayContaining(['TokenIssued', 'TokenRotated', 'TokenUpdated', 'TokenRevoked', 'ConnectionCreated', 'ConnectionUpdated', 'ConnectionUsed', 'ConnectionDeleted']),
    );
    const positions = entries.map((entry) => BigInt(entry.position));
    expect([...positions].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))).toEqual(positions);
    expect(entries.every((entry) => entry.tenantId === 'tenant-a')).toBe(true);
    const used = entries.find((entry) => entry.eventType === 'ConnectionUsed');
    expect(used.resource).toEqual({ type: 'connection', id: 'crm/main' });
    expect(used.changes.host).toBe('api.example.com');
    expect(used.actor.type).toBe('token');
    expect(used.requestId).toEqual(expect.any(String));
    expect(used.ip).toEqual(expect.any(String));
  });

  it('filters by resource, event type, request id and time, with cursor pagination', async () => {
    const { entries } = await wholeLog(gw.url, auditorA);
    const revoke = entries.find((entry) => entry.eventType === 'TokenRevoked');
    const byResource = await wholeLog(gw.url, auditorA, { filter: { resourceType: 'token', resourceId: revoke.resource.id } });
    expect(byResource.entries.map((entry) => entry.eventType)).toEqual(['TokenRevoked', 'TokenUpdated', 'TokenRotated', 'TokenIssued']);
    const byRequest = await wholeLog(gw.url, auditorA, { filter: { requestId: revoke.requestId } });
    expect(byRequest.entries.map((entry) => entry.id)).toEqual([revoke.id]);
    const byActor = await wholeLog(gw.url, auditorA, { filter: { actorId: revoke.actor.id, eventTypes: ['TokenRevoked'] } });
    expect(byActor.entries.map((entry) => entry.id)).toEqual([revoke.id]);
    const future = await wholeLog(gw.url, auditorA, { filter: { from: new Date(Date.now() + 60_000).toISOString() } });
    expect(future.entries).toEqual([]);
    const paged: string[] = [];
    let after: string | null = null;
    do {
      const response: any = await graphql(gw.url, AUDIT_LOG, { first: 3, after }, auditorA);
      paged.push(...response.data.auditLog.edges.map((edge: any) => edge.node.id));
      after = response.data.auditLog.pageInfo.hasNextPage ? response.data.auditLog.pageInfo.endCursor : null;
    } while (after);
    expect(paged).toEqual(entries.map((entry) => entry.id));
  });

  it('never shows a secret, an API key or a stored hash or ciphertext, only fingerprints', async () => {
    const stored = storedSecretForms(gw.dataDir);
    expect(stored.length).toBeGreaterThan(5);
    const outputs = [(await wholeLog(gw.url, auditorA)).raw, (await wholeLog(gw.url, ROOT_SECRET, { tenantId: 'tenant-b' })).raw];
    for (const output of outputs) {
      for (const value of [...secrets, ...apiKeys, ...stored]) expect(output.includes(value)).toBe(false);
      expect(output).toMatch(/hmac-sha256:[0-9a-f]{64}/);
    }
  });

  it('finds the entries of a leaked secret by its fingerprint', async () => {
    const { entries } = await wholeLog(gw.url, auditorA, { filter: { eventTypes: ['TokenRotated'] } });
    const rotatedSecret = secrets[5];
    const fingerprint = (await graphql(gw.url, FINGERPRINT, { value: rotatedSecret }, auditorA)).data!.auditFingerprint;
    expect(fingerprint).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(entries[0].changes.secretHash).toBe(fingerprint);
    const found = await wholeLog(gw.url, auditorA, { filter: { fingerprint } });
    expect(found.entries.map((entry) => entry.eventType)).toEqual(['TokenRotated']);
    const stranger = (await graphql(gw.url, FINGERPRINT, { value: 'klt_never-issued-anywhere' }, auditorA)).data!.auditFingerprint;
    expect((await wholeLog(gw.url, auditorA, { filter: { fingerprint: stranger } })).entries).toEqual([]);
  });

  it("keeps tenants apart and requires keyledger:audit:read", async () => {
    const b = await wholeLog(gw.url, auditorB);
    expect(b.entries.length).toBeGreaterThan(0);
    expect(b.entries.every((entry) => entry.tenantId === 'tenant-b')).toBe(true);
    expect(b.raw.includes('tenant-a')).toBe(false);
    expect(errorCode(await graphql(gw.url, AUDIT_LOG, { tenantId: 'tenant-a' }, auditorB))).toBe('FORBIDDEN');
    expect(errorCode(await graphql(gw.url, AUDIT_LOG, {}, noRoleA))).toBe('FORBIDDEN');
    expect(errorCode(await graphql(gw.url, FINGERPRINT, { value: 'x' }, noRoleA))).toBe('FORBIDDEN');
    expect(errorCode(await graphql(gw.url, INTEGRITY, {}, noRoleA))).toBe('FORBIDDEN');
    expect(errorCode(await graphql(gw.url, AUDIT_LOG, {}))).toBe('UNAUTHENTICATED');
    // admin implies keyledger:audit:read
    expect((await graphql(gw.url, AUDIT_LOG, {}, adminA)).errors).toBeUndefined();
  });

  it('signs the chain head with a key published in the JWKS', async () => {
    const response = await graphql(gw.url, SIGN_HEAD, {}, auditorA);
    expect(response.errors).toBeUndefined();
    const head = response.data!.signAuditHead;
    const { entries } = await wholeLog(gw.url, auditorA, { first: 1 });
    expect(head.hash).toBe(entries[0].hash);
    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((key) => key.kid)).toContain(head.kid);
    const { payload, protectedHeader } = await compactVerify(head.jws, createLocalJWKSet(jwks as never));
    expect(protectedHeader.typ).toBe('keyledger-audit-head+jws');
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({ tenantId: 'tenant-a', hash: head.hash, entries: head.entries });
  });

  it('detects an edited audit row and an edited event', async () => {
    const clean = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(clean).toMatchObject({ ok: true, firstBreak: null });
    expect(clean.entries).toBeGreaterThan(8);

    const readModels = new Database(join(gw.dataDir, 'readmodels.db'));
    const row = readModels.prepare("SELECT seq, event_id, entry FROM audit_entries WHERE chain = 'tenant-a' AND event_type = 'TokenUpdated'").get() as {
      seq: number;
      event_id: string;
      entry: string;
    };
    readModels.prepare('UPDATE audit_entries SET entry = ? WHERE seq = ?').run(row.entry.replace('ci bot 2', 'ci bot 3'), row.seq);
    const edited = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(edited.ok).toBe(false);
    expect(edited.firstBreak.eventId).toBe(row.event_id);
    readModels.prepare('UPDATE audit_entries SET entry = ? WHERE seq = ?').run(row.entry, row.seq);
    readModels.close();
    expect((await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity.ok).toBe(true);

    const events = new Database(join(gw.dataDir, 'events.db'));
    try {
      const event = events.prepare('SELECT data FROM events WHERE id = ?').get(row.event_id) as { data: string };
      events.prepare('UPDATE events SET data = ? WHERE id = ?').run(event.data.replace('ci bot 2', 'ci bot 9'), row.event_id);
      const tampered = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
      expect(tampered.ok).toBe(false);
      expect(tampered.firstBreak).toMatchObject({ eventId: row.event_id, reason: 'the entry differs from its event in the log' });
      events.prepare('UPDATE events SET data = ? WHERE id = ?').run(event.data, row.event_id);
    } finally {
      events.close();
    }
  });
});
