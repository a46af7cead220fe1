import Database from 'better-sqlite3';
import { INDEX_BUILD_CACHE_SIZE_KIB, REPLAY_CACHE_SIZE_KIB, withIndexBuildCache } from '../../../projections';

const cacheSize = (db: Database.Database) => db.pragma('cache_size', { simple: true }) as number;

describe('withIndexBuildCache', () => {
  let db: Database.Database;
  beforeEach(() => {
    db = new Database(':memory:');
  });
  afterEach(() => db.close());

  it("builds with the smaller cache and gives the replay's back after, also when the build fails", () => {
    db.pragma(`cache_size = ${-REPLAY_CACHE_SIZE_KIB}`);
    db.exec('CREATE TABLE t (k TEXT)');
    const inside = withIndexBuildCache(db, () => {
      db.exec('CREATE INDEX t_by_k ON t (k)');
      return cacheSize(db);
    });
    expect(inside).toBe(-INDEX_BUILD_CACHE_SIZE_KIB);
    expect(cacheSize(db)).toBe(-REPLAY_CACHE_SIZE_KIB);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").pluck().all()).toEqual(['t_by_k']);

    expect(() =>
      withIndexBuildCache(db, () => {
        throw new Error('the build failed');
      }),
    ).toThrow('the build failed');
    expect(cacheSize(db)).toBe(-REPLAY_CACHE_SIZE_KIB);
  });

  it('leaves a cache no larger than its own as it is, in KiB or in pages', () => {
    db.pragma('cache_size = -2000');
    expect(withIndexBuildCache(db, () => cacheSize(db))).toBe(-2000);
    // 100 pages of 4 KiB: 400 KiB.
    db.pragma('cache_size = 100');
    expect(withIndexBuildCache(db, () => cacheSize(db))).toBe(100);
    expect(cacheSize(db)).toBe(100);
    // 100,000 pages: larger, so lowered, and restored as pages.
    db.pragma('cache_size = 100000');
    expect(withIndexBuildCache(db, () => cacheSize(db))).toBe(-INDEX_BUILD_CACHE_SIZE_KIB);
    expect(cacheSize(db)).toBe(100000);
  });
});
