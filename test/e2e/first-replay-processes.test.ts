import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET } from '../helpers/gateway';
import { GatewayFleet, runCli } from '../helpers/gateway-process';
import { dumpReadModels } from '../helpers/read-models';

/*
 * A gateway process replaying its embedded log into no read models (a new replica's first
 * start) and `keyledger rebuild` compute the audit entries on a worker thread: both must
 * leave exactly the audit history the gateway wrote as it went.
 */

const REVOKE = `mutation Revoke($id: ID!) { revokeToken(input: { id: $id }) { id } }`;
const UPDATE = `mutation Update($id: ID!, $name: String!) { updateToken(input: { id: $id, name: $name }) { id } }`;
const UNLIMITED = {
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_MINUTE: '0',
  KEYLEDGER_RATE_LIMIT_MUTATIONS_PER_IP_PER_MINUTE: '0',
};
/** More events than the worker sends in one chunk (500), over several tenants' chains. */
const TOKENS = 640;
const TENANTS = ['north', 'south', 'east', 'west'];
const AUDIT_TABLES = ['audit_entries', 'audit_entry_texts', 'audit_fingerprints', 'audit_signed_heads'];

function auditTables(dataDir: string): Record<string, unknown[]> {
  const dump = dumpReadModels(dataDir);
  return Object.fromEntries(AUDIT_TABLES.map((table) => [table, dump[table]]));
}

function removeReadModels(dataDir: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `readmodels.db${suffix}`), { force: true });
}

describe('the first replay of a gateway process, and a rebuild', () => {
  const fleet = new GatewayFleet('first-replay');
  afterAll(() => fleet.stop());

  it('write the audit history the gateway wrote event by event', async () => {
    const dataDir = fleet.tempDir();
    const writer = await fleet.start(dataDir, UNLIMITED);
    const ids: string[] = [];
    for (let i = 0; i < TOKENS; i += 16) {
      const batch = await Promise.all(
        Array.from({ length: 16 }, (_, j) => issueToken(writer.url, ROOT_SECRET, { name: `bot ${i + j} · Zürich 東京 𝕏`, tenantId: TENANTS[(i + j) % TENANTS.length] })),
      );
      ids.push(...batch.map((issued) => issued.id));
    }
    for (const id of ids.slice(0, 40)) {
      expect((await graphql(writer.url, UPDATE, { id, name: 'renamed · ß €' }, ROOT_SECRET)).errors).toBeUndefined();
      expect((await graphql(writer.url, REVOKE, { id }, ROOT_SECRET)).errors).toBeUndefined();
    }
    expect(await writer.kill('SIGTERM')).toBe(0);
    const written = auditTables(dataDir);
    expect(written.audit_entries.length).toBeGreaterThan(TOKENS + 80);
    expect(written.audit_fingerprints.length).toBeGreaterThan(TOKENS);

    removeReadModels(dataDir);
    const replica = await fleet.start(dataDir, UNLIMITED);
    expect(await replica.kill('SIGTERM')).toBe(0);
    expect(replica.output()).not.toMatch(/audit entries worker/);
    expect(auditTables(dataDir)).toEqual(written);

    const rebuilt = await runCli(['rebuild'], { KEYLEDGER_DATA_DIR: dataDir, LOG_LEVEL: 'warn' });
    expect(rebuilt).toMatchObject({ code: 0, stderr: '' });
    expect(auditTables(dataDir)).toEqual(written);
  }, 180_000);
});
