import Database from 'better-sqlite3';
import { join } from 'node:path';
import { cachedReadModels, dataset } from '../../bench/lib/store/dataset';
import { sqliteWriteFloor } from '../../bench/lib/store/write-floor';
import { makeTempDir } from '../helpers/temp-dir';

jest.setTimeout(120_000);

type Shape = Record<string, number | string>;

/** Every table's row count and every index's definition: what a copy must reproduce. */
function shapeOf(path: string): Shape {
  const db = new Database(path, { readonly: true });
  try {
    const shape: Shape = {};
    const objects = db
      .prepare<[], { type: string; name: string; sql: string | null }>("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
      .all();
    for (const object of objects) {
      if (object.type === 'table') shape[`table ${object.name}`] = db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM "${object.name}"`).get()!.n;
      else shape[`${object.type} ${object.name}`] = object.sql ?? '';
    }
    return shape;
  } finally {
    db.close();
  }
}

describe('the SQLite write floor of a set of read models', () => {
  const temp = makeTempDir('keyledger-write-floor');
  afterAll(() => temp.remove());

  it('writes the same tables, rows, indexes and views again, and times the rows, the indexes, the commit and the audit tables', async () => {
    const data = await dataset('mixed', 2000, { root: join(temp.path, 'cache') });
    const source = await cachedReadModels(data);
    const floor = sqliteWriteFloor(source, join(temp.path, 'work'));

    const copied = shapeOf(join(temp.path, 'work', 'write-floor', 'readmodels.db'));
    const original = shapeOf(source);
    expect(copied).toEqual(original);
    expect(original['table audit_entries']).toBe(2001);
    expect(Object.keys(original).filter((key) => key.startsWith('index ')).length).toBeGreaterThan(10);

    const tableRows = Object.entries(original)
      .filter(([key]) => key.startsWith('table '))
      .reduce((sum, [, rows]) => sum + Number(rows), 0);
    expect(floor.rows).toBe(tableRows);
    for (const part of [floor.rowsSeconds, floor.indexSeconds, floor.commitSeconds]) expect(part).toBeGreaterThan(0);
    expect(floor.seconds).toBeCloseTo(floor.rowsSeconds + floor.indexSeconds + floor.commitSeconds, 9);
    // The audit history's share: some of the rows and indexes, never all of them.
    expect(floor.auditSeconds).toBeGreaterThan(0);
    expect(floor.auditSeconds).toBeLessThan(floor.rowsSeconds + floor.indexSeconds);
  });
});
