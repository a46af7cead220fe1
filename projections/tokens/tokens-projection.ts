import type { Database } from 'better-sqlite3';
import type { TokenIssued, TokenRevoked } from '../../src/domain/tokens/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/**
 * The `tokens` read model: one row per token, what queries and verification read.
 * `seq` follows log order, so listing order is stable and survives a rebuild.
 */
export const tokensProjection: Projection = {
  name: 'tokens',
  version: 1,
  eventTypes: ['TokenIssued', 'TokenRevoked'],

  migrate(db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS tokens (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        display TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        lookup_tag TEXT,
        origin TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        expires_at TEXT,
        revoked_at TEXT,
        revoke_reason TEXT
      );
      CREATE INDEX IF NOT EXISTS tokens_by_tenant ON tokens (tenant_id, seq);
      CREATE INDEX IF NOT EXISTS tokens_by_lookup_tag ON tokens (lookup_tag) WHERE lookup_tag IS NOT NULL;
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS tokens');
  },

  handler(db: Database): ProjectionHandler {
    const insert = db.prepare(`
      INSERT INTO tokens (id, tenant_id, kind, name, roles, display, secret_hash, lookup_tag, origin, created_at, updated_at, expires_at)
      VALUES (@tokenId, @tenantId, @kind, @name, @roles, @display, @secretHash, @lookupTag, @origin, @issuedAt, @issuedAt, @expiresAt)
      ON CONFLICT (id) DO NOTHING`);
    const revoke = db.prepare(`
      UPDATE tokens SET revoked_at = @revokedAt, revoke_reason = @reason, updated_at = @revokedAt
      WHERE id = @tokenId AND revoked_at IS NULL`);
    return {
      apply(event: RecordedEvent) {
        switch (event.type) {
          case 'TokenIssued': {
            const data = event.data as TokenIssued['data'];
            insert.run({ ...data, roles: JSON.stringify(data.roles) });
            break;
          }
          case 'TokenRevoked': {
            const data = event.data as TokenRevoked['data'];
            revoke.run({ tokenId: data.tokenId, revokedAt: data.revokedAt, reason: data.reason });
            break;
          }
        }
      },
    };
  },
};
