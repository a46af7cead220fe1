import Database from 'better-sqlite3';
import { compactVerify, createLocalJWKSet } from 'jose';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';
import { TestClock } from '../helpers/test-clock';

const SIGNED_HEADS = `query Heads($first: Int, $after: String, $tenantId: ID) {
  auditSignedHeads(first: $first, after: $after, tenantId: $tenantId) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id tenantId position hash entries signedAt kid jws } }
  }
}`;
const INTEGRITY = `query Integrity($tenantId: ID) {
  auditIntegrity(tenantId: $tenantId) { ok entries head firstBreak { eventId position reason } signedHeadsChecked brokenSignedHeads { position hash } }
}`;
const HEAD = `query Head { auditLog(first: 1) { edges { node { position hash } } } }`;

describe('periodic signing of audit chain heads', () => {
  let gw: TestGateway;
  const clock = new TestClock();
  let auditorA: string;
  let auditorB: string;

  beforeAll(async () => {
    gw = await startTestGateway({ clock, env: { KEYLEDGER_AUDIT_SIGN_INTERVAL_SECONDS: '10' } });
    auditorA = (await issueToken(gw.url, ROOT_SECRET, { name: 'auditor a', tenantId: 'tenant-a', roles: ['keyledger:audit:read'] })).secret;
    auditorB = (await issueToken(gw.url, ROOT_SECRET, { name: 'auditor b', tenantId: 'tenant-b', roles: ['keyledger:audit:read'] })).secret;
  });

  afterAll(async () => {
    await gw.stop();
  });

  async function signedHeads(bearer: string, variables: Record<string, unknown> = {}): Promise<any[]> {
    const response = await graphql(gw.url, SIGNED_HEADS, { first: 100, ...variables }, bearer);
    expect(response.errors).toBeUndefined();
    return response.data!.auditSignedHeads.edges.map((edge: { node: unknown }) => edge.node);
  }

  async function headOf(bearer: string): Promise<{ position: string; hash: string }> {
    const response = await graphql(gw.url, HEAD, {}, bearer);
    expect(response.errors).toBeUndefined();
    return response.data!.auditLog.edges[0].node;
  }

  function headEvents(tenantId: string): number {
    const events = new Database(join(gw.dataDir, 'events.db'), { readonly: true });
    try {
      return (events.prepare("SELECT count(*) AS n FROM events WHERE stream_id = ? AND type = 'AuditHeadSigned'").get(`audit-heads-${tenantId}`) as { n: number }).n;
    } finally {
      events.close();
    }
  }

  it('signs each changed head once, with a JWS the JWKS verifies, and nothing when no head moved', async () => {
    const first = await gw.gateway.audit.signChangedHeads();
    expect(first.failed).toEqual([]);
    expect(first.signed.map((head) => head.tenantId)).toEqual(expect.arrayContaining(['tenant-a', 'tenant-b']));
    expect(headEvents('tenant-a')).toBe(1);

    const head = await headOf(auditorA);
    const [signed] = await signedHeads(auditorA);
    expect(signed).toMatchObject({ tenantId: 'tenant-a', position: head.position, hash: head.hash, signedAt: clock.now().toISOString() });

    const jwks = (await (await fetch(`${gw.url}/.well-known/jwks.json`)).json()) as { keys: never[] };
    const { payload, protectedHeader } = await compactVerify(signed.jws, createLocalJWKSet({ keys: jwks.keys }));
    expect(protectedHeader).toMatchObject({ typ: 'keyledger-audit-head+jws', kid: signed.kid });
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      tenantId: 'tenant-a',
      position: head.position,
      hash: head.hash,
      entries: signed.entries,
      signedAt: signed.signedAt,
      kid: signed.kid,
    });

    // The signatures are in the deployment chain, so signing moved no tenant's head.
    expect(await headOf(auditorA)).toEqual(head);
    const second = await gw.gateway.audit.signChangedHeads();
    expect(second).toEqual({ signed: [], failed: [] });
    expect(headEvents('tenant-a')).toBe(1);
    expect(headEvents('tenant-b')).toBe(1);
  });

  it('signs only the tenants whose head moved', async () => {
    clock.advance(60_000);
    await issueToken(gw.url, ROOT_SECRET, { name: 'moves a', tenantId: 'tenant-a', roles: ['orders:read'] });
    const round = await gw.gateway.audit.signChangedHeads();
    expect(round.signed.map((head) => head.tenantId)).toContain('tenant-a');
    expect(round.signed.map((head) => head.tenantId)).not.toContain('tenant-b');
    expect(headEvents('tenant-a')).toBe(2);
    expect(headEvents('tenant-b')).toBe(1);
    const heads = await signedHeads(auditorA);
    expect(heads).toHaveLength(2);
    expect(heads[0].hash).toBe((await headOf(auditorA)).hash);
    expect(heads[0].entries).toBeGreaterThan(heads[1].entries);
  });

  it('two rounds racing record one signature per head', async () => {
    await issueToken(gw.url, ROOT_SECRET, { name: 'moves a again', tenantId: 'tenant-a', roles: ['orders:read'] });
    await issueToken(gw.url, ROOT_SECRET, { name: 'moves b', tenantId: 'tenant-b', roles: ['orders:read'] });
    const [one, two] = await Promise.all([gw.gateway.audit.signChangedHeads(), gw.gateway.audit.signChangedHeads()]);
    expect([...one.failed, ...two.failed]).toEqual([]);
    const tenants = [...one.signed, ...two.signed].map((head) => head.tenantId).filter((tenant) => tenant.startsWith('tenant-'));
    expect(tenants.sort()).toEqual(['tenant-a', 'tenant-b']);
    expect(headEvents('tenant-a')).toBe(3);
    expect(headEvents('tenant-b')).toBe(2);
    const positions = (await signedHeads(auditorA)).map((head) => head.position);
    expect(new Set(positions).size).toBe(positions.length);
  });

  it('keeps each tenant to its own signed heads', async () => {
    const a = await signedHeads(auditorA);
    const b = await signedHeads(auditorB);
    expect(a.every((head) => head.tenantId === 'tenant-a')).toBe(true);
    expect(b.every((head) => head.tenantId === 'tenant-b')).toBe(true);
    expect(b).toHaveLength(2);
    const other = await graphql(gw.url, SIGNED_HEADS, { tenantId: 'tenant-a' }, auditorB);
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await signedHeads(ROOT_SECRET, { tenantId: 'tenant-b' })).map((head) => head.id)).toEqual(b.map((head) => head.id));

    const page = await graphql(gw.url, SIGNED_HEADS, { first: 1 }, auditorA);
    expect(page.data!.auditSignedHeads.pageInfo.hasNextPage).toBe(true);
    const next = await signedHeads(auditorA, { first: 100, after: page.data!.auditSignedHeads.pageInfo.endCursor });
    expect(next).toHaveLength(a.length - 1);
  });

  it('reports a signed head as broken once an entry before it is edited', async () => {
    const clean = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
    expect(clean).toMatchObject({ ok: true, firstBreak: null, signedHeadsChecked: 3, brokenSignedHeads: [] });

    const readModels = new Database(join(gw.dataDir, 'readmodels.db'));
    try {
      const [oldest] = await signedHeads(auditorA).then((heads) => heads.slice(-1));
      const row = readModels
        .prepare("SELECT seq, entry FROM audit_records WHERE chain = 'tenant-a' AND event_type = 'TokenIssued' ORDER BY seq LIMIT 1")
        .get() as { seq: number; entry: string };
      expect(row.entry).toContain('auditor a');
      readModels.prepare('UPDATE audit_entry_texts SET entry = ? WHERE seq = ?').run(row.entry.replace('auditor a', 'auditor z'), row.seq);
      const edited = (await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity;
      expect(edited.ok).toBe(false);
      expect(edited.brokenSignedHeads).toHaveLength(3);
      expect(edited.brokenSignedHeads[0]).toEqual({ position: oldest.position, hash: oldest.hash });
      readModels.prepare('UPDATE audit_entry_texts SET entry = ? WHERE seq = ?').run(row.entry, row.seq);
    } finally {
      readModels.close();
    }
    expect((await graphql(gw.url, INTEGRITY, {}, auditorA)).data!.auditIntegrity).toMatchObject({ ok: true, brokenSignedHeads: [] });
  });
});

describe('audit signing configuration', () => {
  it('refuses an interval under 10 seconds', () => {
    expect(() => loadConfig({ KEYLEDGER_AUDIT_SIGN_INTERVAL_SECONDS: '5' })).toThrow(/KEYLEDGER_AUDIT_SIGN_INTERVAL_SECONDS/);
    expect(loadConfig({}).auditSignIntervalSeconds).toBe(300);
  });
});
