import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { findSecrets } from '../helpers/byte-scan';
import { eventually, issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, type GatewayProcess } from '../helpers/gateway-process';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { postPublicRevocation, postReport, scannerKey, servePublicKeys, signedHeaders } from '../helpers/secret-scanning';

jest.setTimeout(120_000);

const AUDIT_LOG = `query Audit($filter: AuditLogFilter, $tenantId: ID) {
  auditLog(first: 100, filter: $filter, tenantId: $tenantId) { edges { node { eventType resource { type id } actor { type id } changes } } }
}`;
const LEAK_URL = 'https://github.com/octo-org/octo-repo/blob/5b8c0a2/config/production.env';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

interface StoredEvent {
  type: string;
  streamId: string;
  data: any;
}

function eventsOf(dataDir: string): StoredEvent[] {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true });
  try {
    return (db.prepare('SELECT type, stream_id AS streamId, data FROM events ORDER BY position').all() as Array<{ type: string; streamId: string; data: string }>).map(
      (row) => ({ ...row, data: JSON.parse(row.data) }),
    );
  } finally {
    db.close();
  }
}

async function codeOf(url: string, secret: string): Promise<string> {
  const response = await graphql(url, VERIFY_TOKEN, { token: secret }, ROOT_SECRET);
  return response.data!.verifyToken.code;
}

async function auditOf(url: string, tokenId: string, tenantId: string): Promise<any[]> {
  const response = await graphql(url, AUDIT_LOG, { filter: { resourceId: tokenId }, tenantId }, ROOT_SECRET);
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.auditLog.edges.map((edge: any) => edge.node);
}

/** A made-up token in keyledger's format with a valid checksum is still no token of this deployment. */
const randomString = () => `not-a-token-${randomBytes(12).toString('hex')}`;

describe('leaked credentials, reported by secret scanning, on real gateway processes', () => {
  const fleet = new GatewayFleet('leaks');
  const key = scannerKey('90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a');
  const impostor = scannerKey(key.id);
  let keys: Awaited<ReturnType<typeof servePublicKeys>>;
  let gateway: GatewayProcess;
  let dataDir: string;
  const presented: string[] = [];

  beforeAll(async () => {
    keys = await servePublicKeys([key]);
    dataDir = fleet.tempDir();
    gateway = await fleet.start(dataDir, {
      KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: keys.url,
      KEYLEDGER_LEAK_POLICY: 'WEBHOOK_TOKEN=notify',
      KEYLEDGER_PUBLIC_REVOCATIONS_PER_MINUTE: '1000',
    });
  });
  afterAll(async () => {
    await fleet.stop();
    await keys.close();
  });

  const issue = async (input: Record<string, unknown>) => {
    const issued = await issueToken(gateway.url, ROOT_SECRET, input);
    presented.push(issued.secret);
    return issued;
  };

  it('revokes a leaked token and answers true_positive; a random string is a false_positive', async () => {
    const leaked = await issue({ name: 'deploy bot', tenantId: 'acme', roles: ['orders:read'] });
    const bystander = await issue({ name: 'untouched', tenantId: 'acme' });
    const random = randomString();
    const body = JSON.stringify([
      { token: leaked.secret, type: 'keyledger_api_token', url: LEAK_URL, source: 'content' },
      { token: random, type: 'keyledger_api_token', url: 'https://github.com/octo-org/octo-repo/blob/5b8c0a2/README.md', source: 'content' },
    ]);
    const answer = await postReport(gateway.url, body, signedHeaders(key, body));
    expect({ status: answer.status, json: answer.json }).toEqual({
      status: 200,
      json: [
        { token_hash: sha256(leaked.secret), token_type: 'keyledger_api_token', label: 'true_positive' },
        { token_hash: sha256(random), token_type: 'keyledger_api_token', label: 'false_positive' },
      ],
    });
    expect(await codeOf(gateway.url, leaked.secret)).toBe('REVOKED');
    expect(await codeOf(gateway.url, bystander.secret)).toBe('VALID');

    // The event and the audit entry carry the reason, the reporter and the location; never the secret.
    const revoked = eventsOf(dataDir).filter((event) => event.type === 'TokenRevoked' && event.data.tokenId === leaked.id);
    expect(revoked.map((event) => event.data)).toEqual([
      { tokenId: leaked.id, tenantId: 'acme', reason: 'leaked', revokedAt: expect.any(String), leak: { source: 'github', url: LEAK_URL } },
    ]);
    const entries = await auditOf(gateway.url, leaked.id, 'acme');
    expect(entries.find((entry) => entry.eventType === 'TokenRevoked')).toMatchObject({
      actor: { type: 'system', id: 'secret-scanning/github' },
      changes: { reason: 'leaked', leak: { source: 'github', url: LEAK_URL } },
    });
    expect(JSON.stringify(entries)).not.toContain(leaked.secret);
  });

  it('refuses an unsigned, tampered, wrongly signed or unknown-key body with 401, revoking nothing', async () => {
    const victim = await issue({ name: 'must survive', tenantId: 'acme' });
    const body = JSON.stringify([{ token: victim.secret, type: 'keyledger_api_token', url: LEAK_URL, source: 'content' }]);
    const before = eventsOf(dataDir).length;
    const fetchesBefore = keys.fetches();
    const tampered = body.replace('content', 'commit');
    const attempts: Array<[string, string, Record<string, string>, string]> = [
      ['unsigned', body, { 'content-type': 'application/json' }, 'signature_required'],
      ['tampered', tampered, signedHeaders(key, body), 'invalid_signature'],
      ['signed by another key under the same identifier', body, signedHeaders(impostor, body), 'invalid_signature'],
      ['signature not DER', body, { ...signedHeaders(key, body), 'github-public-key-signature': Buffer.alloc(70, 7).toString('base64') }, 'invalid_signature'],
    ];
    for (const [name, sent, headers, code] of attempts) {
      const answer = await postReport(gateway.url, sent, headers);
      expect({ name, status: answer.status, json: answer.json }).toEqual({ name, status: 401, json: { errors: [{ code, title: expect.any(String) }] } });
      expect(answer.text).not.toContain(victim.secret);
    }
    // Unknown identifiers fetch the document again at most once per refresh interval, however many arrive.
    for (let i = 0; i < 5; i++) {
      const answer = await postReport(gateway.url, body, { ...signedHeaders(key, body), 'github-public-key-identifier': `made-up-${i}` });
      expect({ status: answer.status, code: answer.json?.errors?.[0]?.code }).toEqual({ status: 401, code: 'unknown_key' });
    }
    expect(keys.fetches() - fetchesBefore).toBeLessThanOrEqual(1);
    expect(await codeOf(gateway.url, victim.secret)).toBe('VALID');
    expect(eventsOf(dataDir).length).toBe(before);
  });

  it('the same body replayed changes nothing more', async () => {
    const leaked = await issue({ name: 'replayed', tenantId: 'acme' });
    const body = JSON.stringify([{ token: leaked.secret, type: 'keyledger_api_token', url: LEAK_URL, source: 'content' }]);
    const headers = signedHeaders(key, body);
    expect((await postReport(gateway.url, body, headers)).status).toBe(200);
    const after = eventsOf(dataDir);
    const replay = await postReport(gateway.url, body, headers);
    expect({ status: replay.status, json: replay.json }).toEqual({ status: 401, json: { errors: [{ code: 'replayed', title: expect.any(String) }] } });
    expect(eventsOf(dataDir)).toEqual(after);
  });

  it('the notify policy leaves the token valid and records the report in its audit history', async () => {
    const webhook = await issue({ name: 'user hook', tenantId: 'acme', kind: 'WEBHOOK_TOKEN', ownerId: 'user-7@acme' });
    const body = JSON.stringify([{ token: webhook.secret, type: 'keyledger_webhook_token', url: LEAK_URL, source: 'npm' }]);
    const answer = await postReport(gateway.url, body, signedHeaders(key, body));
    expect(answer.json).toEqual([{ token_hash: sha256(webhook.secret), token_type: 'keyledger_webhook_token', label: 'true_positive' }]);
    expect(await codeOf(gateway.url, webhook.secret)).toBe('VALID');
    const entries = await auditOf(gateway.url, webhook.id, 'acme');
    expect(entries.filter((entry) => entry.eventType === 'TokenRevoked')).toEqual([]);
    expect(entries.find((entry) => entry.eventType === 'TokenLeakReported')).toMatchObject({
      resource: { type: 'token', id: webhook.id },
      changes: { tokenId: webhook.id, tenantId: 'acme', kind: 'WEBHOOK_TOKEN', source: 'github', url: LEAK_URL, action: 'notify' },
    });
  });

  it('answers client errors with a code: not JSON, not a list, too many matches', async () => {
    for (const [body, status, code] of [
      ['{not json', 400, 'invalid_json'],
      ['{"token":"x"}', 400, 'invalid_request'],
      ['[{"type":"keyledger_api_token"}]', 400, 'invalid_request'],
      [JSON.stringify(Array.from({ length: 1001 }, () => ({ token: 'x', type: 't' }))), 400, 'too_many_matches'],
    ] as const) {
      const answer = await postReport(gateway.url, body, signedHeaders(key, body));
      expect({ status: answer.status, json: answer.json }).toEqual({ status, json: { errors: [{ code, title: expect.any(String) }] } });
    }
  });

  it('public revocation answers 202 alike whatever was sent, and revokes the live tokens with the reason leaked', async () => {
    const leaked = await issue({ name: 'pasted in a forum', tenantId: 'globex' });
    const bystander = await issue({ name: 'other', tenantId: 'globex' });
    const garbage = await postPublicRevocation(gateway.url, JSON.stringify({ credentials: [randomString(), 'klt_short'] }));
    const live = await postPublicRevocation(gateway.url, JSON.stringify({ credentials: [randomString(), leaked.secret] }));
    expect({ status: live.status, text: live.text }).toEqual({ status: garbage.status, text: garbage.text });
    expect(live.status).toBe(202);
    await eventually(async () => (await codeOf(gateway.url, leaked.secret)) === 'REVOKED', 20_000);
    expect(await codeOf(gateway.url, bystander.secret)).toBe('VALID');
    const entry = (await auditOf(gateway.url, leaked.id, 'globex')).find((candidate) => candidate.eventType === 'TokenRevoked');
    expect(entry).toMatchObject({ actor: { type: 'system', id: 'public-revocation' }, changes: { reason: 'leaked', leak: { source: 'public', url: null } } });
  });

  it('public revocation refuses bad bodies with a code', async () => {
    for (const [body, status, code] of [
      ['{"credentials": [', 400, 'invalid_json'],
      ['{"credentials": []}', 400, 'invalid_request'],
      ['{"credentials": [42]}', 400, 'invalid_request'],
      [JSON.stringify({ credentials: Array.from({ length: 1001 }, (_, i) => `s${i}`) }), 400, 'too_many_credentials'],
    ] as const) {
      const answer = await postPublicRevocation(gateway.url, body);
      expect({ status: answer.status, json: answer.json }).toEqual({ status, json: { errors: [{ code, title: expect.any(String) }] } });
    }
    const oversized = await postPublicRevocation(gateway.url, JSON.stringify({ credentials: ['x'.repeat(700 * 1024)] }));
    expect({ status: oversized.status, code: oversized.json?.errors?.[0]?.code }).toEqual({ status: 413, code: 'body_too_large' });
  });

  it('no presented secret is in the log output or the data files', async () => {
    await gateway.kill('SIGTERM');
    expect(presented.length).toBeGreaterThan(3);
    const output = gateway.output();
    expect(presented.filter((secret) => output.includes(secret)).map((secret) => secret.slice(0, 8))).toEqual([]);
    expect(findSecrets(dataDir, presented)).toEqual([]);
  });
});

describe('one report delivered to two replicas at once', () => {
  const fleet = new GatewayFleet('leaks-replicas');
  afterAll(() => fleet.stop());

  it('is applied once: one replica answers it, the other refuses it as a replay', async () => {
    const key = scannerKey('replica-key');
    const keys = await servePublicKeys([key]);
    try {
      const dataDir = fleet.tempDir();
      const env = { KEYLEDGER_SECRET_SCANNING_GITHUB_KEYS: keys.url, KEYLEDGER_LEAK_POLICY: 'WEBHOOK_TOKEN=notify' };
      const [one, two] = await Promise.all([fleet.start(dataDir, env), fleet.start(dataDir, env)]);
      // Revocations come before the report is recorded, so with several of them both replicas are usually past the first check before either records it.
      const leaked = [];
      for (let i = 0; i < 8; i++) leaked.push(await issueToken(one.url, ROOT_SECRET, { name: `twice delivered ${i}`, tenantId: 'acme' }));
      const notified = await issueToken(one.url, ROOT_SECRET, { name: 'notified once', tenantId: 'acme', kind: 'WEBHOOK_TOKEN', ownerId: 'user-1@acme' });
      await eventually(async () => (await codeOf(two.url, notified.secret)) === 'VALID', 20_000);
      const body = JSON.stringify([...leaked, notified].map((token) => ({ token: token.secret, type: 'keyledger_api_token', url: LEAK_URL, source: 'content' })));
      const headers = signedHeaders(key, body);
      const answers = await Promise.all([postReport(one.url, body, headers), postReport(two.url, body, headers)]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401]);
      const events = eventsOf(dataDir);
      expect(events.filter((event) => event.type === 'SecretScanningReportReceived')).toHaveLength(1);
      expect(events.filter((event) => event.type === 'TokenLeakReported').map((event) => event.data.tokenId)).toEqual([notified.id]);
      const revoked = events.filter((event) => event.type === 'TokenRevoked').map((event) => event.data.tokenId);
      expect(revoked.sort()).toEqual(leaked.map((token) => token.id).sort());
      for (const token of leaked) expect(await codeOf(two.url, token.secret)).toBe('REVOKED');
    } finally {
      await keys.close();
    }
  });
});
