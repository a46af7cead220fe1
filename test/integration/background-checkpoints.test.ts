import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, issueToken, ROOT_SECRET, startTestGateway } from '../helpers/gateway';

/** Whether the database file itself (not its WAL) holds the text. */
function databaseFileHolds(path: string, text: string): boolean {
  return readFileSync(path).includes(Buffer.from(text, 'utf8'));
}

describe('WAL checkpoints off the event loop', () => {
  it('copies a write into events.db and readmodels.db while the gateway runs, long before the WAL reaches its automatic checkpoint', async () => {
    const gw = await startTestGateway({ env: { LOG_LEVEL: 'warn' } });
    try {
      const { id } = await issueToken(gw.url, ROOT_SECRET, { name: 'checkpointed', tenantId: 'acme' });
      // A handful of pages went to each WAL; SQLite's own checkpoint would wait for 1,000.
      await eventually(
        () => databaseFileHolds(join(gw.dataDir, 'events.db'), id) && databaseFileHolds(join(gw.dataDir, 'readmodels.db'), id),
        10_000,
      );
      const { id: second } = await issueToken(gw.url, ROOT_SECRET, { name: 'checkpointed too', tenantId: 'acme' });
      await eventually(() => databaseFileHolds(join(gw.dataDir, 'readmodels.db'), second), 10_000);
      expect(gw.logs()).not.toMatch(/checkpoint/);
    } finally {
      await gw.stop();
    }
  });
});
