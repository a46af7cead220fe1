import type { Database, Statement } from 'better-sqlite3';
import type { TokenDisabled, TokenEnabled, TokenIssued, TokenRevoked, TokenRotated, TokenUpdated } from '../../src/domain/tokens/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/** Columns of `tokens` that `TokenUpdated` may change, by the event's field name. */
const UPDATABLE_COLUMNS = {
  name: 'name',
  roles: 'roles',
  botName: 'bot_name',
  avatarUrl: 'avatar_url',
  expiresAt: 'expires_at',
  // Usage controls.
  meta: 'meta',
  externalId: 'external_id',
} as const;

/**
 * The `tokens` read model: one row per token, what queries and verification read.
 * `seq` follows log order, so listing order is stable and survives a rebuild.
 *
 * `token_secrets` holds every secret a token has had, keyed by its stored hash, so that
 * during a rotation's grace period both the new and the old secret are found by one indexed
 * read. `valid_until` is null for the current secret; a rotated-out one verifies while
 * now < valid_until. Integration keys keep each secret's ciphertext here too, to check JWTs
 * signed with it.
 */
export const tokensProjection: Projection = {
  name: 'tokens',
  // 3: usage controls (enabled, meta, external_id).
  version: 3,
  eventTypes: ['TokenIssued', 'TokenUpdated', 'TokenRotated', 'TokenRevoked', 'TokenDisabled', 'TokenEnabled'],
  // The handler finds rows by token id and secret hash, and a token's secrets through token_secrets_by_token.
  indexesBuiltAfterReplay: [
    'tokens_by_tenant',
    'tokens_by_owner',
    'tokens_by_code',
    'tokens_by_integration',
    'token_secrets_by_lookup_tag',
    'tokens_by_external_id',
  ],

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
        origin TEXT NOT NULL,
        code TEXT,
        bot_name TEXT,
        avatar_url TEXT,
        owner_id TEXT,
        integration_id TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        rotated_at TEXT,
        expires_at TEXT,
        revoked_at TEXT,
        revoke_reason TEXT,
        -- usage controls
        enabled INTEGER NOT NULL DEFAULT 1,
        meta TEXT,
        external_id TEXT
      );
      CREATE INDEX IF NOT EXISTS tokens_by_tenant ON tokens (tenant_id, seq);
      CREATE INDEX IF NOT EXISTS tokens_by_owner ON tokens (tenant_id, owner_id, seq) WHERE owner_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tokens_by_code ON tokens (tenant_id, code COLLATE NOCASE) WHERE code IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tokens_by_integration ON tokens (tenant_id, integration_id, seq) WHERE integration_id IS NOT NULL;
      CREATE INDEX IF NOT EXISTS tokens_by_external_id ON tokens (tenant_id, external_id, seq) WHERE external_id IS NOT NULL;
      CREATE TABLE IF NOT EXISTS token_secrets (
        secret_hash TEXT PRIMARY KEY,
        token_id TEXT NOT NULL,
        lookup_tag TEXT,
        sealed_secret TEXT,
        created_at TEXT NOT NULL,
        valid_until TEXT
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS token_secrets_by_token ON token_secrets (token_id, created_at);
      CREATE INDEX IF NOT EXISTS token_secrets_by_lookup_tag ON token_secrets (lookup_tag) WHERE lookup_tag IS NOT NULL;
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS tokens; DROP TABLE IF EXISTS token_secrets;');
  },

  handler(db: Database): ProjectionHandler {
    // Positional parameters: binding an object by name costs more than the insert itself on a replay.
    const insert = db.prepare(`
      INSERT INTO tokens (id, tenant_id, kind, name, roles, display, secret_hash, origin, code, bot_name, avatar_url, owner_id,
                          integration_id, created_at, updated_at, expires_at,
                          meta, external_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO NOTHING`);
    const insertSecret = db.prepare(`
      INSERT INTO token_secrets (secret_hash, token_id, lookup_tag, sealed_secret, created_at, valid_until)
      VALUES (?, ?, ?, ?, ?, NULL)
      ON CONFLICT (secret_hash) DO NOTHING`);
    // The new secret is excluded so that applying the event twice cannot end it.
    const endPreviousSecrets = db.prepare(`
      UPDATE token_secrets SET valid_until = ?
      WHERE token_id = ? AND secret_hash <> ? AND (valid_until IS NULL OR valid_until > ?)`);
    const rotate = db.prepare(`
      UPDATE tokens SET secret_hash = ?, display = ?, origin = ?, rotated_at = ?, updated_at = ?
      WHERE id = ?`);
    const revoke = db.prepare(`
      UPDATE tokens SET revoked_at = ?, revoke_reason = ?, updated_at = ?
      WHERE id = ? AND revoked_at IS NULL`);
    const setEnabled = db.prepare(`UPDATE tokens SET enabled = ?, updated_at = ? WHERE id = ?`);
    const updates = new Map<string, Statement<[unknown, string, string]>>();
    const updateColumn = (column: string) => {
      let statement = updates.get(column);
      if (!statement) {
        statement = db.prepare(`UPDATE tokens SET ${column} = ?, updated_at = ? WHERE id = ?`);
        updates.set(column, statement);
      }
      return statement;
    };
    return {
      apply(event: RecordedEvent) {
        switch (event.type) {
          case 'TokenIssued': {
            const data = event.data as TokenIssued['data'];
            insert.run(
              data.tokenId,
              data.tenantId,
              data.kind,
              data.name,
              JSON.stringify(data.roles),
              data.display,
              data.secretHash,
              data.origin,
              data.code ?? null,
              data.botName ?? null,
              data.avatarUrl ?? null,
              data.ownerId ?? null,
              data.integrationId ?? null,
              data.issuedAt,
              data.issuedAt,
              data.expiresAt,
              data.meta ? JSON.stringify(data.meta) : null,
              data.externalId ?? null,
            );
            insertSecret.run(data.secretHash, data.tokenId, data.lookupTag, data.sealedSecret ? JSON.stringify(data.sealedSecret) : null, data.issuedAt);
            break;
          }
          case 'TokenUpdated': {
            const data = event.data as TokenUpdated['data'];
            for (const [field, column] of Object.entries(UPDATABLE_COLUMNS)) {
              const value = data.changes[field as keyof typeof UPDATABLE_COLUMNS];
              if (value === undefined) continue;
              updateColumn(column).run(value !== null && typeof value === 'object' ? JSON.stringify(value) : value, data.updatedAt, data.tokenId);
            }
            break;
          }
          case 'TokenRotated': {
            const data = event.data as TokenRotated['data'];
            const until = data.previousSecretsValidUntil;
            endPreviousSecrets.run(until, data.tokenId, data.secretHash, until);
            insertSecret.run(data.secretHash, data.tokenId, data.lookupTag, data.sealedSecret ? JSON.stringify(data.sealedSecret) : null, data.rotatedAt);
            rotate.run(data.secretHash, data.display, data.origin, data.rotatedAt, data.rotatedAt, data.tokenId);
            break;
          }
          case 'TokenRevoked': {
            const data = event.data as TokenRevoked['data'];
            revoke.run(data.revokedAt, data.reason, data.revokedAt, data.tokenId);
            break;
          }
          case 'TokenDisabled': {
            const data = event.data as TokenDisabled['data'];
            setEnabled.run(0, data.disabledAt, data.tokenId);
            break;
          }
          case 'TokenEnabled': {
            const data = event.data as TokenEnabled['data'];
            setEnabled.run(1, data.enabledAt, data.tokenId);
            break;
          }
        }
      },
    };
  },
};
