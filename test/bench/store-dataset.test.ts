import Database from 'better-sqlite3';
import { join } from 'node:path';
import { cachedReadModels, copyDataDir, dataset } from '../../bench/lib/store/dataset';
import { openReadModelDatabase, readModelProjections } from '../../projections';
import { findSecrets } from '../helpers/byte-scan';
import { ROOT_SECRET, startTestGateway } from '../helpers/gateway';
import { graphql, VERIFY_TOKEN } from '../helpers/graphql-client';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(120_000);

function count(db: Database.Database, sql: string): number {
  return db.prepare<[], { n: number }>(sql).get()!.n;
}

describe('benchmark event logs', () => {
  const cache = makeTempDir('keyledger-dataset');
  afterAll(() => cache.remove());

  it('writes every kind of event into well-formed streams, caches the log, and the rebuild applies all of it', async () => {
    const data = await dataset('mixed', 3000, { root: cache.path });
    const events = new Database(data.eventsPath, { readonly: true });
    try {
      // The deployment secret comes first, as on a gateway's first start.
      expect(count(events, 'SELECT count(*) AS n FROM events')).toBe(3001);
      expect(count(events, 'SELECT count(DISTINCT type) AS n FROM events')).toBeGreaterThanOrEqual(12);
      const gaps = `SELECT count(*) AS n FROM (SELECT stream_id, count(*) AS c, min(revision) AS low, max(revision) AS high FROM events GROUP BY stream_id)
                    WHERE low <> 0 OR high <> c - 1`;
      expect(count(events, gaps)).toBe(0);
      const heads = `SELECT count(*) AS n FROM streams s JOIN (SELECT stream_id, max(revision) AS high FROM events GROUP BY stream_id) e USING (stream_id)
                     WHERE s.revision = e.high`;
      expect(count(events, heads)).toBe(count(events, 'SELECT count(DISTINCT stream_id) AS n FROM events'));
      const large = count(events, `SELECT count(*) AS n FROM events WHERE json_extract(data, '$.tenantId') = '${data.largeTenant}'`);
      expect(large / 3000).toBeGreaterThan(0.4);
      expect(data.busyTokenIds.length).toBeGreaterThan(0);
    } finally {
      events.close();
    }

    const again = await dataset('mixed', 3000, { root: cache.path });
    expect(again.masterKey).toBe(data.masterKey);

    const readModels = new Database(await cachedReadModels(data), { readonly: true });
    const fresh = openReadModelDatabase(join(cache.path, 'fresh.db'));
    const indexes = (db: Database.Database) =>
      db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name").all().map((row) => row.name);
    try {
      // The rebuild drops some indexes for the replay; it must have created every one again.
      for (const projection of readModelProjections({ ofStored: () => '', ofSecret: () => '' })) projection.migrate(fresh);
      expect(indexes(readModels)).toEqual(indexes(fresh));
      expect(count(readModels, 'SELECT count(*) AS n FROM audit_entries')).toBe(3001);
      const issued = new Database(data.eventsPath, { readonly: true });
      const tokens = count(issued, "SELECT count(*) AS n FROM events WHERE type = 'TokenIssued'");
      issued.close();
      expect(count(readModels, 'SELECT count(*) AS n FROM tokens')).toBe(tokens);
    } finally {
      readModels.close();
      fresh.close();
    }
  });

  it('issues tokens that verify through verifyToken on a gateway started on a copy, and keeps their secrets out of the log and read models', async () => {
    const data = await dataset('tokens', 300, { root: cache.path });
    const dataDir = makeTempDir('keyledger-dataset-gateway');
    const readModelsPath = await cachedReadModels(data);
    copyDataDir(data, dataDir.path, readModelsPath);
    const gateway = await startTestGateway({ dataDir: dataDir.path, env: { KEYLEDGER_MASTER_KEY: data.masterKey, LOG_LEVEL: 'warn' } });
    try {
      expect(data.verifiable.length).toBeGreaterThanOrEqual(20);
      for (const token of data.verifiable.slice(0, 20)) {
        const response = await graphql(gateway.url, VERIFY_TOKEN, { token: token.secret }, ROOT_SECRET);
        expect(response.data?.verifyToken).toMatchObject({ valid: true, code: 'VALID', token: { id: token.tokenId } });
      }
      const secrets = data.verifiable.map((token) => token.secret);
      // Only the benchmark's own sample file holds them, so that the benchmark can present them.
      expect(findSecrets(data.dir, secrets).filter((hit) => !hit.startsWith(`${join(data.dir, 'dataset.json')} `))).toEqual([]);
      expect(findSecrets(dataDir.path, secrets)).toEqual([]);
    } finally {
      await gateway.stop();
      dataDir.remove();
    }
  });
});
