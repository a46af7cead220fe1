import Database from 'better-sqlite3';
import { compactVerify, createLocalJWKSet } from 'jose';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyAuditExport } from '../../src/app/audit/export-verifier';
import { runCli } from '../helpers/gateway-process';
import { makeTempDir } from '../helpers/temp-dir';
import { createConnection, DELETE_CONNECTION, UPDATE_CONNECTION, useConnection } from '../helpers/connections-client';
import { errorCode, graphql, type GraphQLResponse } from '../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';

const AUDIT_LOG = `query Audit($first: Int, $after: String, $filter: AuditLogFilter, $tenantId: ID) {
  auditLog(first: $first, after: $after, filter: $filter, tenantId: $tenantId) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id position occurredAt eventType tenantId subTenantId resource { type id } actor { type id } requestId ip userAgent changes hash } }
  }
}`;
const INTEGRITY = `query Integrity($tenantId: ID, $full: Boolean) { auditIntegrity(tenantId: $tenantId, full: $full) { ok entries head firstBreak { eventId position reason } } }`;
const SIGNED_HEADS_PAGE = `query Heads($first: Int, $after: String, $tenantId: ID) {
  auditSignedHeads(first: $first, after: $after, tenantId: $tenantId) { edges { node { tenantId } } }
}`;
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
    // These tests check and export a chain many times with one auditor; the per-credential budget has tests of its own.
    gw = await startTestGateway({ env: { KEYLEDGER_RATE_LIMIT_EXPENSIVE_QUERIES_PER_MINUTE: '1000' } });
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

  async function exportOf(bearer: string | null, query = 'format=ndjson'): Promise<{ status: number; body: string; headers: Headers }> {
    const response = await fetch(`${gw.url}/audit/export?${query}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
    return { status: response.status, body: await response.text(), headers: response.headers };
  }

  async function* linesOf(text: string): AsyncIterable<string> {
    yield* text.split('\n');
  }

  async function jwks() {
    return (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: never[] };
  }

  it('exports the history as signed NDJSON that verifies offline with the JWKS, and as CSV, without secrets', async () => {
    const ndjson = await exportOf(auditorA);
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = ndjson.body.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines[0].header).toMatchObject({ tenantId: 'tenant-a', previousHash: '0'.repeat(64) });
    expect(lines[lines.length - 1].signature).toMatchObject({ tenantId: 'tenant-a', entries: lines.length - 2 });
    const { entries } = await wholeLog(gw.url, auditorA);
    expect(lines.slice(1, -1).map((line) => line.entry.id)).toEqual(entries.map((entry) => entry.id).reverse());
    expect(await verifyAuditExport(linesOf(ndjson.body), await jwks())).toMatchObject({ ok: true, tenantId: 'tenant-a', entries: entries.length });

    const csv = await exportOf(auditorA, 'format=csv');
    expect(csv.status).toBe(200);
    expect(csv.body.split('\r\n')[0]).toBe('id,position,occurredAt,eventType,tenantId,subTenantId,resourceType,resourceId,actorType,actorId,requestId,ip,userAgent,changes,hash');
    expect(csv.body.trim().split('\r\n')).toHaveLength(entries.length + 1);

    const stored = storedSecretForms(gw.dataDir);
    for (const output of [ndjson.body, csv.body]) {
      for (const value of [...secrets, ...apiKeys, ...stored]) expect(output.includes(value)).toBe(false);
    }

    const b = await exportOf(auditorB);
    expect(b.body.includes('tenant-a')).toBe(false);
    expect(await verifyAuditExport(linesOf(b.body), await jwks())).toMatchObject({ ok: true, tenantId: 'tenant-b' });
  });

  it('exports a time range as a stretch of the chain that still verifies', async () => {
    const { entries } = await wholeLog(gw.url, auditorA);
    const ascending = [...entries].reverse();
    const from = ascending[3].occurredAt;
    const ranged = await exportOf(auditorA, `format=ndjson&from=${encodeURIComponent(from)}`);
    const lines = ranged.body.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines[0].header.previousHash).not.toBe('0'.repeat(64));
    expect(lines.slice(1, -1).every((line) => line.entry.occurredAt >= from)).toBe(true);
    expect(await verifyAuditExport(linesOf(ranged.body), await jwks())).toMatchObject({ ok: true });
  });

  it('an edited, dropped or unsigned export does not verify', async () => {
    const { body } = await exportOf(auditorA);
    const lines = body.trim().split('\n');
    const edited = [...lines];
    edited[2] = edited[2].replace('"TokenIssued"', '"TokenRevoked"');
    expect(edited[2]).not.toBe(lines[2]);
    expect((await verifyAuditExport(linesOf(edited.join('\n')), await jwks())).problem).toMatch(/line 3/);
    const dropped = [...lines.slice(0, 2), ...lines.slice(3)];
    expect((await verifyAuditExport(linesOf(dropped.join('\n')), await jwks())).ok).toBe(false);
    const truncatedTail = [...lines.slice(0, -2), lines[lines.length - 1]];
    expect((await verifyAuditExport(linesOf(truncatedTail.join('\n')), await jwks())).problem).toMatch(/other entries/);
    expect((await verifyAuditExport(linesOf(lines.slice(0, -1).join('\n')), await jwks())).problem).toMatch(/no signature/);
    expect((await verifyAuditExport(linesOf(body), { keys: [] })).ok).toBe(false);
  });

  it('export: authentication, role, tenant and format rules', async () => {
    expect((await exportOf(null)).status).toBe(401);
    expect((await exportOf(noRoleA)).status).toBe(403);
    expect((await exportOf(auditorB, 'format=ndjson&tenantId=tenant-a')).status).toBe(403);
    expect((await exportOf(auditorA, 'format=xml')).status).toBe(400);
    expect((await exportOf(auditorA, 'from=yesterday')).status).toBe(400);
    const backwards = await exportOf(auditorA, 'format=ndjson&from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z');
    expect(backwards.status).toBe(400);
    expect(backwards.body).toMatch(/from must not be later than to/);
  });

  it('the CLI exports and verifies offline against a JWKS file or URL', async () => {
    const temp = makeTempDir();
    try {
      const file = join(temp.path, 'audit.ndjson');
      writeFileSync(file, (await exportOf(auditorA)).body);
      const jwksFile = join(temp.path, 'jwks.json');
      writeFileSync(jwksFile, JSON.stringify(await jwks()));
      const ok = await runCli(['verify-audit-export', file, '--jwks', jwksFile], {});
      expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ entries of tenant tenant-a/) });
      const byUrl = await runCli(['verify-audit-export', file, '--jwks', `${gw.url}/.well-known/jwks.json`], {});
      expect(byUrl.code).toBe(0);

      const exported = join(temp.path, 'cli.ndjson');
      const cli = await runCli(['export-audit', 'tenant-b', '--out', exported], { KEYLEDGER_DATA_DIR: gw.dataDir, LOG_LEVEL: 'warn' });
      expect(cli).toMatchObject({ code: 0 });
      const verified = await runCli(['verify-audit-export', exported, '--jwks', jwksFile], {});
      expect(verified).toMatchObject({ code: 0, stdout: expect.stringMatching(/tenant tenant-b/) });

      writeFileSync(file, (await exportOf(auditorA)).body.replace('"ci bot 2"', '"ci bot 7"'));
      const bad = await runCli(['verify-audit-export', file, '--jwks', jwksFile], {});
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/does NOT verify/);
    } finally {
      temp.remove();
    }
  }, 60_000);

  it('records failed authentications as access records, without the credential', async () => {
    const revokedSecret = secrets[5];
    const garbage = 'klt_not-a-real-credential-presented-by-someone';
    expect(errorCode(await graphql(gw.url, AUDIT_LOG, {}, revokedSecret, { 'user-agent': 'audit-probe/1.0' }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await graphql(gw.url, AUDIT_LOG, {}, garbage))).toBe('UNAUTHENTICATED');
    let failures: any[] = [];
    await eventually(async () => {
      failures = (await wholeLog(gw.url, auditorA, { filter: { eventTypes: ['AuthenticationFailed'] } })).entries;
      return failures.length === 1;
    }, 10_000);
    expect(failures[0]).toMatchObject({
      tenantId: 'tenant-a',
      userAgent: 'audit-probe/1.0',
      actor: { type: 'system', id: 'unauthenticated' },
      changes: { code: 'REVOKED', credentialType: 'token' },
    });
    expect(failures[0].resource.type).toBe('token');
    const { raw } = await wholeLog(gw.url, auditorA);
    expect(raw.includes(revokedSecret)).toBe(false);
    expect(raw.includes(garbage)).toBe(false);
    // A credential that is no one's names no tenant and is not recorded at all.
    expect((await wholeLog(gw.url, auditorB, { filter: { eventTypes: ['AuthenticationFailed'] } })).entries).toEqual([]);
    await gw.gateway.connections.access.flush();
    const events = new Database(join(gw.dataDir, 'events.db'), { readonly: true });
    try {
      expect(events.prepare("SELECT count(*) AS n FROM events WHERE type = 'AuthenticationFailed'").get()).toEqual({ n: 1 });
    } finally {
      events.close();
    }
  });

  it('refuses a bad cursor, an out-of-range first and a bad filter with BAD_USER_INPUT, showing no stack trace', async () => {
    const refused: Array<Record<string, unknown>> = [
      { after: 'garbage' },
      { after: Buffer.from('{"seq":-1}').toString('base64url') },
      { first: -1 },
      { first: 101 },
      { filter: { from: 'yesterday' } },
      { filter: { eventTypes: 'TokenIssued', resourceId: 42 } },
      // A range that ends before it starts, and a fingerprint in no form the history holds, match nothing by construction.
      { filter: { from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' } },
      { filter: { fingerprint: 'klt_pastedsecretvalue' } },
      { filter: { fingerprint: 'hmac-sha256:pastedsecretvalue' } },
      { filter: { fingerprint: `hmac-sha256:${'A'.repeat(64)}` } },
    ];
    for (const variables of refused) {
      const response = await graphql(gw.url, AUDIT_LOG, variables, auditorA);
      expect({ variables, code: errorCode(response) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
      expect(response.status).toBeLessThan(500);
      expect(response.raw).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+|node_modules/);
      expect(response.raw).not.toMatch(/pastedsecretvalue|AAAA/);
    }
    const backwards = await graphql(gw.url, AUDIT_LOG, { filter: { from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' } }, auditorA);
    expect(backwards.errors?.[0].message).toMatch(/filter\.from must not be later than filter\.to/);
    const pasted = await graphql(gw.url, AUDIT_LOG, { filter: { fingerprint: 'klt_pastedsecretvalue' } }, auditorA);
    expect(pasted.errors?.[0].message).toMatch(/filter\.fingerprint must be hmac-sha256:/);
    // A range that is merely empty is a question with an answer.
    const empty = await graphql(gw.url, AUDIT_LOG, { filter: { from: '2026-03-01T00:00:00Z', to: '2026-03-01T00:00:00Z' } }, auditorA);
    expect(empty.errors).toBeUndefined();
  });

  it('a tenant auditor reads, checks and signs only its own chain; naming another tenant is FORBIDDEN', async () => {
    for (const query of [AUDIT_LOG, INTEGRITY, SIGN_HEAD, SIGNED_HEADS_PAGE]) {
      expect({ query, code: errorCode(await graphql(gw.url, query, { tenantId: 'tenant-a' }, auditorB)) }).toEqual({ query, code: 'FORBIDDEN' });
    }
    const signed = await graphql(gw.url, SIGN_HEAD, {}, auditorB);
    expect(signed.errors).toBeUndefined();
    expect(signed.data!.signAuditHead.tenantId).toBe('tenant-b');
    const heads = await graphql(gw.url, SIGNED_HEADS_PAGE, {}, auditorB);
    expect(heads.errors).toBeUndefined();
    expect(heads.data!.auditSignedHeads.edges.map((edge: { node: { tenantId: string } }) => edge.node.tenantId)).toEqual(
      heads.data!.auditSignedHeads.edges.map(() => 'tenant-b'),
    );
    const integrityB = (await graphql(gw.url, INTEGRITY, {}, auditorB)).data!.auditIntegrity;
    const integrityA = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(integrityB.entries).toBeLessThan(integrityA.entries);
    expect(integrityB.head).not.toBe(integrityA.head);
  });

  it('refuses a bad cursor and an out-of-range first of auditSignedHeads with BAD_USER_INPUT', async () => {
    for (const variables of [{ after: 'garbage' }, { first: -1 }, { first: 101 }] as Array<Record<string, unknown>>) {
      const response = await graphql(gw.url, SIGNED_HEADS_PAGE, variables, auditorA);
      expect({ variables, code: errorCode(response) }).toEqual({ variables, code: 'BAD_USER_INPUT' });
      expect(response.raw).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+|node_modules/);
    }
  });

  it('records verifyToken checks of credentials holding keyledger roles, not of others', async () => {
    const VERIFY = `query V($token: String!, $requiredRoles: [String!]) { verifyToken(token: $token, requiredRoles: $requiredRoles) { valid code } }`;
    const admin = await graphql(gw.url, VERIFY, { token: auditorA, requiredRoles: ['keyledger:admin'] }, adminA);
    expect(admin.data!.verifyToken.code).toBe('INSUFFICIENT_ROLES');
    expect((await graphql(gw.url, VERIFY, { token: noRoleA }, adminA)).data!.verifyToken.code).toBe('VALID');
    let verified: any[] = [];
    await eventually(async () => {
      verified = (await wholeLog(gw.url, auditorA, { filter: { eventTypes: ['PrivilegedTokenVerified'] } })).entries;
      return verified.length === 1;
    }, 10_000);
    expect(verified[0]).toMatchObject({ actor: { type: 'token' }, changes: { code: 'INSUFFICIENT_ROLES', requiredRoles: ['keyledger:admin'] } });
    const { raw } = await wholeLog(gw.url, auditorA);
    expect(raw.includes(auditorA)).toBe(false);
    // A sentinel: one more recorded check, made after the plain token's. Records are appended
    // in the order the checks ran, so once it is in the log a record of the plain token would be too.
    const sentinel = await graphql(gw.url, VERIFY, { token: auditorA, requiredRoles: ['keyledger:root'] }, adminA);
    expect(sentinel.data!.verifyToken.code).toBe('INSUFFICIENT_ROLES');
    let recorded: any[] = [];
    await eventually(async () => {
      recorded = (await wholeLog(gw.url, auditorA, { filter: { eventTypes: ['PrivilegedTokenVerified'] } })).entries;
      return recorded.some((entry) => entry.changes?.requiredRoles?.includes('keyledger:root'));
    }, 10_000);
    const beforeSentinel = recorded.filter((entry) => !entry.changes?.requiredRoles?.includes('keyledger:root'));
    expect(beforeSentinel).toHaveLength(1);
  });

  it('detects an edited audit row and an edited event', async () => {
    const clean = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(clean).toMatchObject({ ok: true, firstBreak: null });
    expect(clean.entries).toBeGreaterThan(8);

    const readModels = new Database(join(gw.dataDir, 'readmodels.db'));
    const row = readModels.prepare("SELECT seq, event_id, entry FROM audit_records WHERE chain = 'tenant-a' AND event_type = 'TokenUpdated'").get() as {
      seq: number;
      event_id: string;
      entry: string;
    };
    readModels.prepare('UPDATE audit_entry_texts SET entry = ? WHERE seq = ?').run(row.entry.replace('ci bot 2', 'ci bot 3'), row.seq);
    const edited = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(edited.ok).toBe(false);
    expect(edited.firstBreak.eventId).toBe(row.event_id);
    readModels.prepare('UPDATE audit_entry_texts SET entry = ? WHERE seq = ?').run(row.entry, row.seq);
    // An entry whose canonical text is gone (the row of audit_entry_texts deleted) is a break too.
    readModels.prepare('DELETE FROM audit_entry_texts WHERE seq = ?').run(row.seq);
    const missing = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(missing.ok).toBe(false);
    expect(missing.firstBreak).toMatchObject({ eventId: row.event_id, reason: 'the stored entry is missing' });
    readModels.prepare('INSERT INTO audit_entry_texts (seq, entry) VALUES (?, ?)').run(row.seq, row.entry);
    readModels.close();
    expect((await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity.ok).toBe(true);

    const events = new Database(join(gw.dataDir, 'events.db'));
    try {
      const event = events.prepare('SELECT data FROM events WHERE id = ?').get(row.event_id) as { data: string };
      events.prepare('UPDATE events SET data = ? WHERE id = ?').run(event.data.replace('ci bot 2', 'ci bot 9'), row.event_id);
      // The event was compared with its entry by the checks above; `full` compares it again.
      const tampered = (await graphql(gw.url, INTEGRITY, { full: true }, auditorA)).data!.auditIntegrity;
      expect(tampered.ok).toBe(false);
      expect(tampered.firstBreak).toMatchObject({ eventId: row.event_id, reason: 'the entry differs from its event in the log' });
      events.prepare('UPDATE events SET data = ? WHERE id = ?').run(event.data, row.event_id);
    } finally {
      events.close();
    }
  });
});
