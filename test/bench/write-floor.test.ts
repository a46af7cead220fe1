import { join } from 'node:path';
import { cachedReadModels, dataset } from '../../bench/lib/store/dataset';
import { sqliteWriteFloor } from '../../bench/lib/store/write-floor';
import { dumpReadModelFile, readModelSchema } from '../helpers/read-models';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(120_000);

describe('the SQLite write floor of a set of read models', () => {
  const temp = makeTempDir('keyledger-write-floor');
  afterAll(() => temp.remove());

  it('writes the same tables, rows, indexes and views again, and times the rows, the indexes, the commit and the audit tables', async () => {
    const data = await dataset('mixed', 2000, { root: join(temp.path, 'cache') });
    const source = await cachedReadModels(data);
    const floor = sqliteWriteFloor(source, join(temp.path, 'work'));
    const copy = join(temp.path, 'work', 'write-floor', 'readmodels.db');

    const original = dumpReadModelFile(source);
    expect(dumpReadModelFile(copy)).toEqual(original);
    expect(original.audit_entries).toHaveLength(2001);
    const schema = readModelSchema(source);
    expect(readModelSchema(copy)).toEqual(schema);
    expect(Object.keys(schema).filter((key) => key.startsWith('index ')).length).toBeGreaterThan(10);

    const tableRows = Object.values(original).reduce((sum, rows) => sum + rows.length, 0);
    expect(floor.rows).toBe(tableRows);
    for (const part of [floor.rowsSeconds, floor.indexSeconds, floor.commitSeconds]) expect(part).toBeGreaterThan(0);
    expect(floor.seconds).toBeCloseTo(floor.rowsSeconds + floor.indexSeconds + floor.commitSeconds, 9);
    // The audit history's share: some of the rows and indexes, never all of them.
    expect(floor.auditSeconds).toBeGreaterThan(0);
    expect(floor.auditSeconds).toBeLessThan(floor.rowsSeconds + floor.indexSeconds);
  });
});
