import type { Database } from 'better-sqlite3';
import type {
  AccessTokenIssued,
  AccessTokenRevoked,
  PartnerCredentialCreated,
  PartnerCredentialRevoked,
} from '../../src/domain/partners/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/**
 * The `partners` read model: partner credentials (what listing and the exchange read) and
 * the access tokens issued for them (what revocation checks read). `seq` follows log order,
 * so listing order is stable and survives a rebuild.
 */
export const partnersProjection: Projection = {
  name: 'partners',
  version: 1,
  eventTypes: ['PartnerCredentialCreated', 'PartnerCredentialRevoked', 'AccessTokenIssued', 'AccessTokenRevoked'],

  migrate(db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS partner_credentials (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        sub_tenant_ids TEXT NOT NULL,
        api_key TEXT NOT NULL UNIQUE,
        secret_display TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        revoked_at TEXT,
        revoke_reason TEXT
      );
      CREATE INDEX IF NOT EXISTS partner_credentials_by_tenant ON partner_credentials (tenant_id, seq);
      CREATE TABLE IF NOT EXISTS partner_access_tokens (
        jti TEXT PRIMARY KEY,
        credential_id TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        sub_tenant_id TEXT NOT NULL,
        kid TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT,
        revoke_reason TEXT
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS partner_access_tokens_by_credential ON partner_access_tokens (credential_id, expires_at);
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS partner_credentials; DROP TABLE IF EXISTS partner_access_tokens;');
  },

  handler(db: Database): ProjectionHandler {
    const insertCredential = db.prepare(`
      INSERT INTO partner_credentials (id, tenant_id, name, sub_tenant_ids, api_key, secret_display, secret_hash, created_at, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO NOTHING`);
    const revokeCredential = db.prepare(`
      UPDATE partner_credentials SET revoked_at = ?, revoke_reason = ?, updated_at = ?
      WHERE id = ? AND revoked_at IS NULL`);
    const insertToken = db.prepare(`
      INSERT INTO partner_access_tokens (jti, credential_id, tenant_id, sub_tenant_id, kid, issued_at, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (jti) DO NOTHING`);
    const revokeToken = db.prepare(`
      UPDATE partner_access_tokens SET revoked_at = ?, revoke_reason = ?
      WHERE jti = ? AND revoked_at IS NULL`);
    return {
      apply(event: RecordedEvent) {
        switch (event.type) {
          case 'PartnerCredentialCreated': {
            const data = event.data as PartnerCredentialCreated['data'];
            insertCredential.run(
              data.credentialId,
              data.tenantId,
              data.name,
              JSON.stringify(data.subTenantIds),
              data.apiKey,
              data.secretDisplay,
              data.secretHash,
              data.createdAt,
              data.createdAt,
            );
            break;
          }
          case 'PartnerCredentialRevoked': {
            const data = event.data as PartnerCredentialRevoked['data'];
            revokeCredential.run(data.revokedAt, data.reason, data.revokedAt, data.credentialId);
            break;
          }
          case 'AccessTokenIssued': {
            const data = event.data as AccessTokenIssued['data'];
            insertToken.run(data.jti, data.credentialId, data.tenantId, data.subTenantId, data.kid, data.issuedAt, data.expiresAt);
            break;
          }
          case 'AccessTokenRevoked': {
            const data = event.data as AccessTokenRevoked['data'];
            revokeToken.run(data.revokedAt, data.reason, data.jti);
            break;
          }
        }
      },
    };
  },
};
