import Database from 'better-sqlite3';
import { cpSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ROOT_SECRET, startTestGateway } from '../helpers/gateway';
import { runCli } from '../helpers/gateway-process';
import { dumpReadModels } from '../helpers/read-models';
import { makeTempDir } from '../helpers/temp-dir';

function indexesOf(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'readmodels.db'), { readonly: true });
  try {
    return db.prepare<[], { sql: string }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all().map((row) => row.sql);
  } finally {
    db.close();
  }
}

describe('rebuild', () => {
  it('replaying thousands of events gives read models identical to the live ones', async () => {
    const temp = makeTempDir();
    try {
      const gw = await startTestGateway({ dataDir: temp.path });
      const root = await gw.gateway.credentials.tokens.authenticate(ROOT_SECRET);
      const ctx = { requestId: 'rebuild-test', principal: async () => root };
      const ids: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const { record } = await gw.gateway.tokens.issueToken(ctx, {
          name: `token ${i}`,
          tenantId: `tenant-${i % 7}`,
          roles: i % 3 === 0 ? ['orders:read'] : [],
          expiresAt: i % 5 === 0 ? new Date(Date.now() + 86_400_000) : null,
        });
        ids.push(record.id);
      }
      // Signed heads land between the tenants' events, so a rebuild must keep them and the chains apart.
      const round = await gw.gateway.audit.signChangedHeads();
      expect(round.failed).toEqual([]);
      for (const id of ids.filter((_, i) => i % 4 === 0)) await gw.gateway.tokens.revokeToken(ctx, { id, reason: 'rebuild drill' });
      expect((await gw.gateway.audit.signChangedHeads()).signed.length).toBeGreaterThanOrEqual(7);
      await gw.stop();

      const before = dumpReadModels(temp.path);
      expect((before.tokens as unknown[]).length).toBe(2001);
      expect((before.audit_signed_heads as unknown[]).length).toBeGreaterThanOrEqual(14);
      const result = await runCli(['rebuild'], { KEYLEDGER_DATA_DIR: temp.path, LOG_LEVEL: 'warn' });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      // 2,501 token events, plus the start-up events (such as the first signing key) the gateway appends itself.
      const logged = (new Database(join(temp.path, 'events.db'), { readonly: true }).prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      expect(logged).toBeGreaterThanOrEqual(2501);
      expect(result.stdout).toMatch(new RegExp(`from ${logged} event\\(s\\)`));
      // The audit history holds one entry per event of the log.
      expect((before.audit_entries as unknown[]).length).toBe(logged);
      expect(dumpReadModels(temp.path)).toEqual(before);

      // A new replica (no read models) replays the log on its first start, with its query-only
      // indexes left out until it has caught up: rows and indexes as the live ones.
      const replica = makeTempDir();
      try {
        cpSync(temp.path, replica.path, { recursive: true, filter: (source) => !basename(source).startsWith('readmodels.db') });
        expect(existsSync(join(replica.path, 'readmodels.db'))).toBe(false);
        const started = await startTestGateway({ dataDir: replica.path });
        await started.stop();
        // Token usage is this machine's record of requests it served, not a projection of the log.
        const { token_usage: _usage, ...projected } = before;
        expect(dumpReadModels(replica.path)).toEqual({ ...projected, token_usage: [] });
        expect(indexesOf(replica.path)).toEqual(indexesOf(temp.path));
      } finally {
        replica.remove();
      }
    } finally {
      temp.remove();
    }
  }, 180_000);
});
