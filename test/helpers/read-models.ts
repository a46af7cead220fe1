import Database from 'better-sqlite3';
import { join } from 'node:path';

function readOnly<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Every read-model table of a data directory, row by row, for comparing two of them. */
export function dumpReadModels(dataDir: string): Record<string, unknown[]> {
  return dumpReadModelFile(join(dataDir, 'readmodels.db'));
}

/** Every table of a read-model database file, row by row. */
export function dumpReadModelFile(path: string): Record<string, unknown[]> {
  return readOnly(path, (db) => {
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all() as Array<{ name: string }>;
    return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all()]));
  });
}

/** Every index and view of a read-model database file (`index <name>`, `view <name>`), with its definition. */
export function readModelSchema(path: string): Record<string, string> {
  return readOnly(path, (db) => {
    const objects = db
      .prepare<[], { type: string; name: string; sql: string }>("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'view') AND sql IS NOT NULL")
      .all();
    return Object.fromEntries(objects.map(({ type, name, sql }) => [`${type} ${name}`, sql]));
  });
}
