import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataset } from '../../bench/lib/store/dataset';
import { GENESIS_HASH, storedEntry } from '../../projections/audit';
import { AuditEntriesAhead } from '../../projections/audit/audit-entries-ahead';
import { AuditFingerprinter } from '../../src/crypto/audit-fingerprint';
import { ALL_EVENT_TYPES } from '../../src/domain/audit/event-types';
import { SqliteEventStore, SqliteLogReader } from '../../src/eventstore/sqlite';
import { auditWorkerSource, datasetKeys } from '../helpers/audit-worker';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(120_000);

describe('audit entries computed ahead on the worker', () => {
  const temp = makeTempDir('keyledger-audit-ahead');
  afterAll(() => temp.remove());

  it('are taken only while each was chained to the head its chain has in the read models, and only from a worker that keeps sending', async () => {
    const data = await dataset('tokens', 3_000, { root: join(temp.path, 'cache') });
    const store = SqliteEventStore.open(data.eventsPath);
    let keys: Awaited<ReturnType<typeof datasetKeys>>;
    try {
      keys = await datasetKeys(data, store);
    } finally {
      await store.close();
    }
    const reader = SqliteLogReader.open(data.eventsPath);
    const audited = new Set<string>(ALL_EVENT_TYPES);
    const events = reader.page(null, 1_000).filter((event) => audited.has(event.type));
    reader.close();
    const fingerprints = new AuditFingerprinter(keys.auditKey, keys.lookupPepper);
    // The entries as the handler computes them itself, each chained to its chain's previous one.
    const heads = new Map<string, string>();
    const expected = events.map((event) => {
      const entry = storedEntry(event, fingerprints, (chain) => heads.get(chain) ?? GENESIS_HASH);
      heads.set(entry.chain, entry.hash);
      return entry;
    });
    const warnings: string[] = [];
    const source = auditWorkerSource(keys, data.eventsPath, (message) => warnings.push(message));
    const start = 200;
    const from = { after: events[start].position - 1n, heads: new Map(expected.slice(0, start).map((entry) => [entry.chain, entry.hash])) };
    const later = events.slice(start);

    // Started in the middle with the heads there: every later entry is the handler's own.
    const ahead = AuditEntriesAhead.start(source, ALL_EVENT_TYPES, from)!;
    try {
      await ahead.prepare(later);
      const seen = new Map(from.heads);
      for (const [i, event] of later.entries()) {
        const entry = ahead.take(event, (chain) => seen.get(chain) ?? GENESIS_HASH);
        expect(entry?.hash).toBe(expected[start + i].hash);
        expect(Buffer.from(entry!.canonical).toString('utf8')).toBe(expected[start + i].canonical);
        seen.set(entry!.chain, entry!.hash);
      }
    } finally {
      ahead.close();
    }
    expect(warnings).toEqual([]);

    // Given another head than the read models hold for the first entry's chain: that entry and
    // every later one are left to the handler, and the replay is told.
    const forked = AuditEntriesAhead.start(source, ALL_EVENT_TYPES, { ...from, heads: new Map([...from.heads, [expected[start].chain, 'f'.repeat(64)]]) })!;
    try {
      await forked.prepare(later);
      const headOf = (chain: string) => from.heads.get(chain) ?? GENESIS_HASH;
      expect(forked.take(later[0], headOf)).toBeUndefined();
      expect(forked.take(later[1], headOf)).toBeUndefined();
      expect(forked.done).toBe(true);
    } finally {
      forked.close();
    }
    expect(warnings).toEqual(['the audit entries worker chained from other heads than the read models hold; the replay computes the rest itself']);

    // A worker that never sends anything is given up after a while, not waited for without end.
    const silentScript = join(temp.path, 'silent-worker.js');
    writeFileSync(silentScript, 'setInterval(() => undefined, 1000);\n');
    const silent = AuditEntriesAhead.start({ ...source, workerScript: silentScript }, ALL_EVENT_TYPES, from)!;
    try {
      await silent.prepare(later);
      expect(silent.done).toBe(true);
      expect(silent.take(later[0], (chain) => from.heads.get(chain) ?? GENESIS_HASH)).toBeUndefined();
    } finally {
      silent.close();
    }
    expect(warnings.at(-1)).toBe('the audit entries worker fell silent; the replay computes the rest itself');
  });
});
