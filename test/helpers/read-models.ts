import Database from 'better-sqlite3';
import { join } from 'node:path';

/** Every read-model table of a data directory, row by row, for comparing two of them. */
export function dumpReadModels(dataDir: string): Record<string, unknown[]> {
  const db = new Database(join(dataDir, 'readmodels.db'), { readonly: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{ name: string }>;
    return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all()]));
  } finally {
    db.close();
  }
}
