import type { Database, Statement } from 'better-sqlite3';
import type { TokenDisabled, TokenEnabled, TokenIssued, TokenRevoked, TokenRotated, TokenUpdated } from '../../src/domain/tokens/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import { hasTable } from '../database';
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
/**
 * Tokens a replay keeps in memory (a map from token id to row, about a hundred bytes each)
 * before it builds the indexes and goes on through them, so a replay of any log fits in a
 * bounded heap.
 */
export const REPLAY_TOKENS_IN_MEMORY = 2_000_000;

export interface TokensProjectionOptions {
  /** Default REPLAY_TOKENS_IN_MEMORY. */
  replayTokensInMemory?: number;
}

export function createTokensProjection(options: TokensProjectionOptions = {}): Projection {
  const replayTokensInMemory = options.replayTokensInMemory ?? REPLAY_TOKENS_IN_MEMORY;
  return {
    name: 'tokens',
    // 3: usage controls (enabled, meta, external_id). 4: the unique id and secret hash indexes are named, so a replay builds them last.
    version: 4,
    eventTypes: ['TokenIssued', 'TokenUpdated', 'TokenRotated', 'TokenRevoked', 'TokenDisabled', 'TokenEnabled'],
    // The handler finds rows by token id and secret hash, and a token's secrets through
    // token_secrets_by_token; the replay handler keeps each token's rowids in memory instead.
    indexesBuiltAfterReplay: [
      'tokens_by_id',
      'token_secrets_by_token',
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
          id TEXT NOT NULL,
          tenant_id TEXT NOT NULL,
          kind TEXT NOT NULL,
          name TEXT NOT NULL,
          roles TEXT NOT NULL,
          display TEXT NOT NULL,
          secret_hash TEXT NOT NULL,
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
        CREATE UNIQUE INDEX IF NOT EXISTS tokens_by_id ON tokens (id);
        -- Secrets are found through token_secrets (keyed by hash, rotated-out ones too), so
        -- tokens.secret_hash, the current one, needs no index of its own: one random-key insert
        -- fewer per issue and rotation, and one index build fewer per replay.
        DROP INDEX IF EXISTS tokens_by_secret_hash;
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
      `);
      // What a replay staged (see replayHandler), in key order: appended to the table's B-tree
      // instead of inserted at random. Before the table's own indexes are built (a replay left
      // them out): keyed by token id, not by hash, they would take every row at a random place.
      if (hasTable(db, SECRETS_STAGING)) {
        db.exec(`
          INSERT OR IGNORE INTO token_secrets (secret_hash, token_id, lookup_tag, sealed_secret, created_at, valid_until)
          SELECT secret_hash, token_id, lookup_tag, sealed_secret, created_at, valid_until FROM ${SECRETS_STAGING} ORDER BY secret_hash;
          DROP TABLE ${SECRETS_STAGING};
        `);
      }
      db.exec(`
        CREATE INDEX IF NOT EXISTS token_secrets_by_token ON token_secrets (token_id, created_at);
        CREATE INDEX IF NOT EXISTS token_secrets_by_lookup_tag ON token_secrets (lookup_tag) WHERE lookup_tag IS NOT NULL;
      `);
    },

    drop(db: Database) {
      db.exec(`DROP TABLE IF EXISTS tokens; DROP TABLE IF EXISTS token_secrets; DROP TABLE IF EXISTS ${SECRETS_STAGING};`);
    },

    handler(db: Database): ProjectionHandler {
      // Positional parameters: binding an object by name costs more than the insert itself on a replay.
      const insert = db.prepare(`${INSERT_TOKEN} ON CONFLICT (id) DO NOTHING`);
      const insertSecret = db.prepare(`
        INSERT INTO token_secrets (secret_hash, token_id, lookup_tag, sealed_secret, created_at, valid_until)
        VALUES (?, ?, ?, ?, ?, NULL)
        ON CONFLICT (secret_hash) DO NOTHING`);
      // The new secret is excluded so that applying the event twice cannot end it.
      const endPreviousSecrets = db.prepare(`
        UPDATE token_secrets SET valid_until = ?
        WHERE token_id = ? AND secret_hash <> ? AND (valid_until IS NULL OR valid_until > ?)`);
      const { rotate, revoke, setEnabled, updateColumn } = tokenUpdates(db, 'id');
      return {
        apply(event: RecordedEvent) {
          switch (event.type) {
            case 'TokenIssued': {
              const data = event.data as TokenIssued['data'];
              insert.run(tokenRow(data));
              insertSecret.run(data.secretHash, data.tokenId, data.lookupTag, data.sealedSecret ? JSON.stringify(data.sealedSecret) : null, data.issuedAt);
              break;
            }
            case 'TokenUpdated': {
              const data = event.data as TokenUpdated['data'];
              for (const [column, value] of changedColumns(data)) updateColumn(column).run(value, data.updatedAt, data.tokenId);
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

    /*
     * A replay inserts every token at the end of `tokens` (rowid order) with none of its
     * random-key indexes in place, and every secret into an unindexed staging table, keeping
     * each token's seq in memory to update its row; `migrate` then builds the indexes and moves
     * the secrets over in key order. The secret a token was issued with is staged at its
     * token's seq, and secrets from rotations at negative rowids remembered per token, so the
     * common token costs one map entry. Same rows as `handler` gives: a second TokenIssued of
     * an id is skipped as its ON CONFLICT skips it, and an event for an unknown id changes no
     * token.
     */
    replayHandler(db: Database): ProjectionHandler {
      db.exec(`CREATE TABLE IF NOT EXISTS ${SECRETS_STAGING} (
        secret_hash TEXT NOT NULL,
        token_id TEXT NOT NULL,
        lookup_tag TEXT,
        sealed_secret TEXT,
        created_at TEXT NOT NULL,
        valid_until TEXT
      )`);
      const insert = db.prepare(INSERT_TOKEN);
      const insertSecret = db.prepare(`
        INSERT INTO ${SECRETS_STAGING} (rowid, secret_hash, token_id, lookup_tag, sealed_secret, created_at, valid_until)
        VALUES (?, ?, ?, ?, ?, ?, NULL)`);
      const endSecret = db.prepare(`
        UPDATE ${SECRETS_STAGING} SET valid_until = ?
        WHERE rowid = ? AND secret_hash <> ? AND (valid_until IS NULL OR valid_until > ?)`);
      const { rotate, revoke, setEnabled, updateColumn } = tokenUpdates(db, 'seq');
      // Token id → its row's seq (also its issued secret's staging rowid).
      const seqs = new Map<string, number>();
      // Token id → staging rowids of the secrets rotations gave it.
      const rotatedSecrets = new Map<string, number[]>();
      let nextRotatedSecret = -1;
      const stageSecret = (rowid: number, data: { secretHash: string; tokenId: string; lookupTag: string | null; sealedSecret?: unknown }, at: string) =>
        insertSecret.run(rowid, data.secretHash, data.tokenId, data.lookupTag, data.sealedSecret ? JSON.stringify(data.sealedSecret) : null, at);
      return {
        apply(event: RecordedEvent) {
          switch (event.type) {
            case 'TokenIssued': {
              const data = event.data as TokenIssued['data'];
              if (seqs.has(data.tokenId)) return;
              const seq = Number(insert.run(tokenRow(data)).lastInsertRowid);
              seqs.set(data.tokenId, seq);
              stageSecret(seq, data, data.issuedAt);
              return;
            }
            case 'TokenUpdated': {
              const data = event.data as TokenUpdated['data'];
              const seq = seqs.get(data.tokenId);
              if (seq === undefined) return;
              for (const [column, value] of changedColumns(data)) updateColumn(column).run(value, data.updatedAt, seq);
              return;
            }
            case 'TokenRotated': {
              const data = event.data as TokenRotated['data'];
              const until = data.previousSecretsValidUntil;
              const seq = seqs.get(data.tokenId);
              let rotated = rotatedSecrets.get(data.tokenId);
              if (seq !== undefined) endSecret.run(until, seq, data.secretHash, until);
              for (const rowid of rotated ?? []) endSecret.run(until, rowid, data.secretHash, until);
              const rowid = nextRotatedSecret--;
              stageSecret(rowid, data, data.rotatedAt);
              if (rotated === undefined) rotatedSecrets.set(data.tokenId, (rotated = []));
              rotated.push(rowid);
              if (seq !== undefined) rotate.run(data.secretHash, data.display, data.origin, data.rotatedAt, data.rotatedAt, seq);
              return;
            }
            case 'TokenRevoked': {
              const data = event.data as TokenRevoked['data'];
              const seq = seqs.get(data.tokenId);
              if (seq !== undefined) revoke.run(data.revokedAt, data.reason, data.revokedAt, seq);
              return;
            }
            case 'TokenDisabled': {
              const data = event.data as TokenDisabled['data'];
              const seq = seqs.get(data.tokenId);
              if (seq !== undefined) setEnabled.run(0, data.disabledAt, seq);
              return;
            }
            case 'TokenEnabled': {
              const data = event.data as TokenEnabled['data'];
              const seq = seqs.get(data.tokenId);
              if (seq !== undefined) setEnabled.run(1, data.enabledAt, seq);
              return;
            }
          }
        },
        full: () => seqs.size >= replayTokensInMemory,
      };
    },
  };
}

export const tokensProjection = createTokensProjection();

/** The statements that change a token's row, which they find by `key`: its id, or (during a replay) its seq. */
function tokenUpdates(db: Database, key: 'id' | 'seq') {
  const updates = new Map<string, Statement<[unknown, string, string | number]>>();
  return {
    rotate: db.prepare<[string, string, string, string, string, string | number]>(`
      UPDATE tokens SET secret_hash = ?, display = ?, origin = ?, rotated_at = ?, updated_at = ?
      WHERE ${key} = ?`),
    revoke: db.prepare<[string, string | null, string, string | number]>(`
      UPDATE tokens SET revoked_at = ?, revoke_reason = ?, updated_at = ?
      WHERE ${key} = ? AND revoked_at IS NULL`),
    setEnabled: db.prepare<[number, string, string | number]>(`UPDATE tokens SET enabled = ?, updated_at = ? WHERE ${key} = ?`),
    updateColumn(column: string) {
      let statement = updates.get(column);
      if (!statement) {
        statement = db.prepare(`UPDATE tokens SET ${column} = ?, updated_at = ? WHERE ${key} = ?`);
        updates.set(column, statement);
      }
      return statement;
    },
  };
}

const INSERT_TOKEN = `
  INSERT INTO tokens (id, tenant_id, kind, name, roles, display, secret_hash, origin, code, bot_name, avatar_url, owner_id,
                      integration_id, created_at, updated_at, expires_at, meta, external_id)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** INSERT_TOKEN's values for an issued token. */
function tokenRow(data: TokenIssued['data']): unknown[] {
  return [
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
  ];
}

/** The columns a TokenUpdated sets, with their new values as stored. */
function changedColumns(data: TokenUpdated['data']): Array<[string, unknown]> {
  const changed: Array<[string, unknown]> = [];
  for (const [field, column] of Object.entries(UPDATABLE_COLUMNS)) {
    const value = data.changes[field as keyof typeof UPDATABLE_COLUMNS];
    if (value !== undefined) changed.push([column, value !== null && typeof value === 'object' ? JSON.stringify(value) : value]);
  }
  return changed;
}

/** Where a replay puts each token's secrets until `migrate` moves them into `token_secrets` (see replayHandler). */
const SECRETS_STAGING = 'token_secrets_replay';
