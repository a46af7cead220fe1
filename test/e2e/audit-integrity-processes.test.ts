import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { EsdbDouble } from '../helpers/esdb-double';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, runCli, type GatewayProcess } from '../helpers/gateway-process';

const INTEGRITY = `query Integrity($full: Boolean) {
  auditIntegrity(full: $full) {
    ok entries comparedWithLog firstBreak { eventId reason }
    signedHeadsChecked brokenSignedHeads { position }
    anchored anchoredHeadsChecked brokenAnchoredHeads { line position reason }
  }
}`;
const HEAD = `query Head { auditLog(first: 1) { edges { node { position } } } }`;
const REVOKE = `mutation Revoke($id: ID!) { revokeToken(input: { id: $id }) { id } }`;
const UNLIMITED = {
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_EXPENSIVE_QUERIES_PER_MINUTE: '0',
};

async function integrity(url: string, bearer: string, full = false) {
  const response = await graphql(url, INTEGRITY, { full }, bearer);
  expect(response.errors).toBeUndefined();
  return response.data!.auditIntegrity;
}

/** Checks through `checker` while `writer` keeps appending to the same tenant; every report must be ok. */
async function checkWhileWriting(writer: GatewayProcess, checker: GatewayProcess, checks: number): Promise<void> {
  const auditor = (await issueToken(writer.url, ROOT_SECRET, { name: 'auditor', tenantId: 'busy', roles: ['keyledger:audit:read'] })).secret;
  // A replica with read models of its own knows the credential once it has projected it.
  await eventually(async () => (await graphql(checker.url, HEAD, {}, auditor)).errors === undefined, 20_000);

  let writing = true;
  let written = 0;
  const writes = (async () => {
    while (writing) {
      await issueToken(writer.url, ROOT_SECRET, { name: `busy ${written}`, tenantId: 'busy' });
      written++;
    }
  })();
  const reports: Array<{ ok: boolean; firstBreak: unknown }> = [];
  try {
    // Each check runs while the other process appends and projects; half compare the whole chain.
    for (let i = 0; i < checks; i++) {
      reports.push(await integrity(checker.url, auditor, i % 2 === 0));
    }
  } finally {
    writing = false;
    await writes;
  }
  expect(written).toBeGreaterThan(0);
  expect(reports.filter((report) => !report.ok)).toEqual([]);
}

describe('auditIntegrity while another process writes', () => {
  const fleet = new GatewayFleet('audit-integrity');
  let double: EsdbDouble | null = null;
  afterAll(async () => {
    await fleet.stop();
    await double?.close();
  });

  it('reports no break in an untouched log, two processes on one data directory', async () => {
    const dataDir = fleet.tempDir();
    await checkWhileWriting(await fleet.start(dataDir, UNLIMITED), await fleet.start(dataDir, UNLIMITED), 40);
  }, 180_000);

  it('reports no break in an untouched log, two replicas on one EventStoreDB', async () => {
    double = await EsdbDouble.start();
    const env = { ...UNLIMITED, EVENTSTORE_CONNECTION_STRING: double.connectionString, KEYLEDGER_MASTER_KEY: Buffer.alloc(32, 9).toString('base64') };
    await checkWhileWriting(await fleet.start(fleet.tempDir(), env), await fleet.start(fleet.tempDir(), env), 10);
  }, 180_000);
});

/** A witness that keeps every signed head POSTed to it and lets a test wait for one. */
async function startWitness(): Promise<{ url: string; heads: any[]; waitFor(match: (head: any) => boolean): Promise<any>; close(): Promise<void> }> {
  const heads: any[] = [];
  const waiters: Array<{ match: (head: any) => boolean; resolve: (head: any) => void }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const head = JSON.parse(body);
      heads.push(head);
      for (const waiter of waiters.splice(0)) {
        if (waiter.match(head)) waiter.resolve(head);
        else waiters.push(waiter);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/heads`,
    heads,
    waitFor: (match) =>
      new Promise((resolve) => {
        const seen = heads.find(match);
        if (seen) resolve(seen);
        else waiters.push({ match, resolve });
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('signed heads anchored outside the store', () => {
  const fleet = new GatewayFleet('audit-anchor');
  let witness: Awaited<ReturnType<typeof startWitness>>;

  beforeAll(async () => {
    witness = await startWitness();
  });

  afterAll(async () => {
    await fleet.stop();
    await witness.close();
  });

  it('detects a log rewritten with its AuditHeadSigned events deleted, with an anchor; without one it cannot', async () => {
    const dataDir = fleet.tempDir();
    const anchorDir = fleet.tempDir();
    const work = fleet.tempDir();
    const anchored = { ...UNLIMITED, KEYLEDGER_AUDIT_SIGN_INTERVAL_SECONDS: '10', KEYLEDGER_AUDIT_ANCHOR_DIR: anchorDir, KEYLEDGER_AUDIT_WITNESS_URL: witness.url };
    let gateway: GatewayProcess = await fleet.start(dataDir, anchored);
    const auditor = (await issueToken(gateway.url, ROOT_SECRET, { name: 'auditor', tenantId: 'tenant-a', roles: ['keyledger:audit:read'] })).secret;
    const service = await issueToken(gateway.url, ROOT_SECRET, { name: 'orders service', tenantId: 'tenant-a', roles: ['orders:read'] });
    const leaked = await issueToken(gateway.url, ROOT_SECRET, { name: 'leaked key', tenantId: 'tenant-a' });
    expect((await graphql(gateway.url, REVOKE, { id: leaked.id }, ROOT_SECRET)).errors).toBeUndefined();
    const head = (await graphql(gateway.url, HEAD, {}, auditor)).data!.auditLog.edges[0].node.position;

    // The periodic round publishes the head to the witness after writing it to the anchor file.
    const published = await witness.waitFor((signed) => signed.tenantId === 'tenant-a' && signed.position === head);
    const anchorFile = join(anchorDir, 'tenant-a.ndjson');
    expect(readFileSync(anchorFile, 'utf8')).toContain(published.jws);
    expect(await integrity(gateway.url, auditor)).toMatchObject({ ok: true, anchored: true, brokenAnchoredHeads: [] });
    const jwksFile = join(work, 'jwks.json');
    writeFileSync(jwksFile, await (await fetch(`${gateway.url}/.well-known/jwks.json`)).text());
    expect(await gateway.kill('SIGTERM')).toBe(0);

    // Someone with write access to events.db: admin for the service token, the revocation gone,
    // the in-log signed heads deleted, then the read models rebuilt from the forged log.
    const events = new Database(join(dataDir, 'events.db'));
    try {
      const issued = events.prepare("SELECT position, data FROM events WHERE stream_id = ? AND type = 'TokenIssued'").get(`token-${service.id}`) as {
        position: number;
        data: string;
      };
      const data = JSON.parse(issued.data);
      data.roles = ['orders:read', 'keyledger:admin'];
      events.prepare('UPDATE events SET data = ? WHERE position = ?').run(JSON.stringify(data), issued.position);
      events.prepare("DELETE FROM events WHERE stream_id = ? AND type = 'TokenRevoked'").run(`token-${leaked.id}`);
      events.prepare('UPDATE streams SET revision = revision - 1 WHERE stream_id = ?').run(`token-${leaked.id}`);
      events.prepare("DELETE FROM events WHERE type = 'AuditHeadSigned'").run();
      events.prepare("DELETE FROM streams WHERE stream_id LIKE 'audit-heads-%'").run();
    } finally {
      events.close();
    }
    const rebuilt = await runCli(['rebuild'], { KEYLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    expect(rebuilt.code).toBe(0);

    // Without an anchor, the forged state is live and the history agrees with the forged log.
    gateway = await fleet.start(dataDir, UNLIMITED);
    const forged = (await graphql(gateway.url, VERIFY_TOKEN, { token: service.secret, requiredRoles: ['keyledger:admin'] }, ROOT_SECRET)).data!.verifyToken;
    expect(forged).toMatchObject({ valid: true });
    expect((await graphql(gateway.url, VERIFY_TOKEN, { token: leaked.secret }, ROOT_SECRET)).data!.verifyToken.valid).toBe(true);
    expect(await integrity(gateway.url, auditor, true)).toMatchObject({ ok: true, anchored: false, signedHeadsChecked: 0 });
    expect(await gateway.kill('SIGTERM')).toBe(0);

    // With the anchor, the same check fails: the chain no longer gives the anchored heads, and
    // the log no longer records them.
    gateway = await fleet.start(dataDir, { ...UNLIMITED, KEYLEDGER_AUDIT_ANCHOR_DIR: anchorDir });
    const report = await integrity(gateway.url, auditor);
    expect(report.ok).toBe(false);
    expect(report.anchoredHeadsChecked).toBeGreaterThan(0);
    expect(report.brokenAnchoredHeads).toEqual(
      expect.arrayContaining([expect.objectContaining({ position: head, reason: expect.stringMatching(/no longer gives this head|log ends before/) })]),
    );

    // Offline: the gateway signs an export of the forged history, which verifies on its own and
    // fails against the anchor.
    const exported = join(work, 'audit.ndjson');
    expect(await gateway.kill('SIGTERM')).toBe(0);
    expect((await runCli(['export-audit', 'tenant-a', '--out', exported], { KEYLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'warn' })).code).toBe(0);
    expect(await runCli(['verify-audit-export', exported, '--jwks', jwksFile], {})).toMatchObject({ code: 0 });
    const checked = await runCli(['verify-audit-export', exported, '--jwks', jwksFile, '--anchor', anchorFile], {});
    expect(checked.code).toBe(1);
    expect(checked.stderr).toMatch(/does NOT verify: .*anchor/);
  }, 180_000);

  it('refuses an anchor directory inside the data directory', async () => {
    const dataDir = fleet.tempDir();
    const started = await runCli(['rebuild'], { KEYLEDGER_DATA_DIR: dataDir, KEYLEDGER_AUDIT_ANCHOR_DIR: join(dataDir, 'anchor') });
    expect(started.code).toBe(78);
    expect(started.stderr).toMatch(/KEYLEDGER_AUDIT_ANCHOR_DIR: must be outside KEYLEDGER_DATA_DIR/);
  });
});
