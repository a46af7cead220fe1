import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { graphql } from '../helpers/graphql-client';
import { issueToken, ROOT_SECRET, startTestGateway } from '../helpers/gateway';
import { makeTempDir } from '../helpers/temp-dir';
import { ISSUE, REVOKE } from '../e2e/suites/token-operations';

function keyIds(dataDir: string): string[] {
  const db = new Database(join(dataDir, 'keys.db'), { readonly: true });
  try {
    return (db.prepare('SELECT id FROM data_keys ORDER BY id').all() as Array<{ id: string }>).map((row) => row.id);
  } finally {
    db.close();
  }
}

/** Start-up destroys data keys a failed revocation or a failed issue left behind, and nothing else. */
describe('data key sweep at start-up', () => {
  it('destroys the keys of revoked tokens and old keys with no token; keeps live ones and fresh ones', async () => {
    const temp = makeTempDir();
    try {
      let gw = await startTestGateway({ dataDir: temp.path });
      const { secret: admin } = await issueToken(gw.url, ROOT_SECRET, { name: 'admin', tenantId: 'acme', roles: ['keyledger:admin'] });
      const issue = async (name: string) =>
        (await graphql(gw.url, ISSUE, { input: { name, kind: 'INTEGRATION_KEY', integrationId: 'int-1' } }, admin)).data!.issueToken.token.id as string;
      const live = await issue('live');
      const revoked = await issue('revoked');
      await graphql(gw.url, REVOKE, { input: { id: revoked } }, admin);
      await gw.stop();

      const db = new Database(join(temp.path, 'keys.db'));
      const insert = db.prepare('INSERT INTO data_keys (id, wrapped_key, created_at) VALUES (?, ?, ?)');
      // As if shredding had failed after the revocation was recorded.
      insert.run(revoked, randomBytes(60), new Date().toISOString());
      insert.run('tok_failedissue0000000001', randomBytes(60), new Date(Date.now() - 2 * 3600_000).toISOString());
      insert.run('tok_inflightissue00000001', randomBytes(60), new Date().toISOString());
      db.close();

      gw = await startTestGateway({ dataDir: temp.path });
      await gw.stop();
      expect(keyIds(temp.path)).toEqual([live, 'tok_inflightissue00000001'].sort());
    } finally {
      temp.remove();
    }
  });
});
