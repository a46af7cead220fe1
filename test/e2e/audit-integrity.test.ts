import Database from 'better-sqlite3';
import { join } from 'node:path';
import { canonicalJson, chainHash, GENESIS_HASH } from '../../projections/audit';
import { errorCode, graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway, type TestGateway } from '../helpers/gateway';

const INTEGRITY = `query Integrity($full: Boolean) {
  auditIntegrity(full: $full) { ok entries head comparedWithLog comparedFrom firstBreak { eventId reason } }
}`;
const HEAD = `query Head { auditLog(first: 1) { edges { node { position } } } }`;
const BUDGET = 4;

describe('auditIntegrity: cost, checkpoint and limits', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { KEYLEDGER_RATE_LIMIT_EXPENSIVE_QUERIES_PER_MINUTE: String(BUDGET) } });
    // A busy neighbour: its events are in the log between the small tenant's.
    for (let i = 0; i < 40; i++) await issueToken(gw.url, ROOT_SECRET, { name: `busy ${i}`, tenantId: 'busy' });
  });

  afterAll(async () => {
    await gw.stop();
  });

  async function auditor(tenantId: string): Promise<string> {
    return (await issueToken(gw.url, ROOT_SECRET, { name: `auditor of ${tenantId}`, tenantId, roles: ['keyledger:audit:read'] })).secret;
  }

  async function integrity(bearer: string, full = false) {
    const response = await graphql(gw.url, INTEGRITY, { full }, bearer);
    expect(response.errors).toBeUndefined();
    return response.data!.auditIntegrity;
  }

  it("compares only the caller's own entries with the log, and on a repeat only the new ones", async () => {
    const bearer = await auditor('small');
    await issueToken(gw.url, ROOT_SECRET, { name: 'small one', tenantId: 'small' });

    const first = await integrity(bearer);
    expect(first).toMatchObject({ ok: true, entries: 2, comparedWithLog: 2, comparedFrom: null, firstBreak: null });

    const head = (await graphql(gw.url, HEAD, {}, bearer)).data!.auditLog.edges[0].node.position;
    expect(await integrity(bearer)).toMatchObject({ ok: true, entries: 2, comparedWithLog: 0, comparedFrom: head });

    await issueToken(gw.url, ROOT_SECRET, { name: 'small two', tenantId: 'small' });
    expect(await integrity(bearer)).toMatchObject({ ok: true, entries: 3, comparedWithLog: 1, comparedFrom: head });
    expect(await integrity(bearer, true)).toMatchObject({ ok: true, entries: 3, comparedWithLog: 3, comparedFrom: null });
  });

  it('still finds an entry before the last verified one that was edited and every later hash rewritten to match', async () => {
    const bearer = await auditor('rewritten');
    await issueToken(gw.url, ROOT_SECRET, { name: 'original name', tenantId: 'rewritten' });
    await issueToken(gw.url, ROOT_SECRET, { name: 'later', tenantId: 'rewritten' });
    expect(await integrity(bearer)).toMatchObject({ ok: true, entries: 3 });

    const readModels = new Database(join(gw.dataDir, 'readmodels.db'));
    try {
      const rows = readModels.prepare("SELECT seq, event_id, entry FROM audit_records WHERE chain = 'rewritten' ORDER BY seq").all() as Array<{
        seq: number;
        event_id: string;
        entry: string;
      }>;
      const edited = rows.findIndex((row) => row.entry.includes('original name'));
      const entry = JSON.parse(rows[edited].entry);
      entry.changes.name = 'forged name';
      rows[edited].entry = canonicalJson(entry);
      let previous = GENESIS_HASH;
      const updateText = readModels.prepare('UPDATE audit_entry_texts SET entry = ? WHERE seq = ?');
      const updateHash = readModels.prepare('UPDATE audit_entries SET hash = ? WHERE seq = ?');
      for (const row of rows) {
        previous = chainHash(previous, row.entry);
        updateText.run(row.entry, row.seq);
        updateHash.run(previous, row.seq);
      }
      // The stored chain is consistent with itself again; only the remembered hash tells.
      const report = await integrity(bearer);
      expect(report.ok).toBe(false);
      expect(report.firstBreak.reason).toBe('the history up to the last verified entry changed since it was verified');
      expect((await integrity(bearer, true)).firstBreak).toMatchObject({ eventId: rows[edited].event_id, reason: 'the entry differs from its event in the log' });
    } finally {
      readModels.close();
    }
  });

  it('refuses more than one auditIntegrity in an operation, however it is spelled, before running any', async () => {
    const bearer = await auditor('twice');
    const documents = [
      `{ a: auditIntegrity { ok } b: auditIntegrity { ok } }`,
      `{ auditIntegrity { ok } ...again } fragment again on Query { other: auditIntegrity { entries } }`,
      `{ auditIntegrity { ok } ... on Query { x: auditIntegrity { ok } } }`,
    ];
    for (const query of documents) {
      const response = await graphql(gw.url, query, {}, bearer);
      expect(errorCode(response)).toBe('BAD_USER_INPUT');
      expect(response.errors![0].message).toMatch(/auditIntegrity 2 times; at most once/);
      expect(response.data ?? null).toBeNull();
    }
    // One selection under one name, however many times it is repeated, runs once.
    const merged = await graphql(gw.url, `{ auditIntegrity { ok } ...same } fragment same on Query { auditIntegrity { entries } }`, {}, bearer);
    expect(merged.errors).toBeUndefined();
    expect(merged.data!.auditIntegrity).toMatchObject({ ok: true });
  });

  it('limits integrity checks and exports per credential, answering RATE_LIMITED with retryAfter', async () => {
    const bearer = await auditor('limited');
    const other = await auditor('limited');
    for (let i = 0; i < BUDGET; i++) await integrity(bearer);
    const refused = await graphql(gw.url, INTEGRITY, {}, bearer);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    const retryAfter = refused.errors![0].extensions!.retryAfter;
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);

    // The export draws on the same budget.
    const exported = await fetch(`${gw.url}/audit/export`, { headers: { authorization: `Bearer ${bearer}` } });
    expect(exported.status).toBe(429);
    expect(Number(exported.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await exported.json()) as any).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });

    // Another credential of the same tenant has a budget of its own; cheap queries cost nothing.
    expect((await integrity(other)).ok).toBe(true);
    expect((await graphql(gw.url, HEAD, {}, bearer)).errors).toBeUndefined();
  });
});
