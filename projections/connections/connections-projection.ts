import type { Database } from 'better-sqlite3';
import type { ConnectionCreated, ConnectionDeleted, ConnectionUpdated } from '../../src/domain/connections/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/**
 * The `connections` read model: one row per live API-key connection, what queries and
 * `useApiKeyConnection` read (one indexed lookup). The row keeps the key's ciphertext and
 * data key id, as the events do; a deleted connection's row is removed. `seq` follows log
 * order, so listing order is stable and survives a rebuild.
 */
export const connectionsProjection: Projection = {
  name: 'connections',
  version: 1,
  eventTypes: ['ConnectionCreated', 'ConnectionUpdated', 'ConnectionDeleted'],

  migrate(db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS api_key_connections (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        connection_id TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL,
        integration TEXT NOT NULL,
        name TEXT NOT NULL,
        header_name TEXT NOT NULL,
        allowed_domain TEXT NOT NULL,
        sealed_api_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant_id, integration, name)
      );
      CREATE INDEX IF NOT EXISTS api_key_connections_by_integration ON api_key_connections (tenant_id, integration, seq);
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS api_key_connections;');
  },

  handler(db: Database): ProjectionHandler {
    const insert = db.prepare(`
      INSERT INTO api_key_connections
        (connection_id, tenant_id, integration, name, header_name, allowed_domain, sealed_api_key, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`);
    const update = db.prepare(`
      UPDATE api_key_connections SET
        header_name = coalesce(?, header_name),
        allowed_domain = coalesce(?, allowed_domain),
        sealed_api_key = coalesce(?, sealed_api_key),
        updated_at = ?
      WHERE connection_id = ?`);
    const remove = db.prepare('DELETE FROM api_key_connections WHERE connection_id = ?');
    return {
      apply(event: RecordedEvent) {
        switch (event.type) {
          case 'ConnectionCreated': {
            const data = event.data as ConnectionCreated['data'];
            insert.run(
              data.connectionId,
              data.tenantId,
              data.integration,
              data.name,
              data.headerName,
              data.allowedDomain,
              JSON.stringify(data.sealedApiKey),
              data.createdAt,
              data.createdAt,
            );
            break;
          }
          case 'ConnectionUpdated': {
            const { connectionId, changes, updatedAt } = event.data as ConnectionUpdated['data'];
            update.run(
              changes.headerName ?? null,
              changes.allowedDomain ?? null,
              changes.sealedApiKey ? JSON.stringify(changes.sealedApiKey) : null,
              updatedAt,
              connectionId,
            );
            break;
          }
          case 'ConnectionDeleted':
            remove.run((event.data as ConnectionDeleted['data']).connectionId);
            break;
        }
      },
    };
  },
};
