import type { Database, Statement } from 'better-sqlite3';
import type { SealedSecret, TokenKind } from '../../src/domain/tokens/events';
import { ensureTokenUsageTable } from './token-usage';
import { tokenStatusSql, notRevokedSql, type TokenStatus } from '../../src/domain/tokens/status';

export { tokenStatus, type TokenStatus } from '../../src/domain/tokens/status';

/** A token as the read model holds it. `secretHash` never leaves the service layer. */
export interface TokenRecord {
  seq: number;
  id: string;
  tenantId: string;
  kind: TokenKind;
  name: string;
  roles: string[];
  display: string;
  /** Hash of the current secret. */
  secretHash: string;
  origin: string;
  code: string | null;
  botName: string | null;
  avatarUrl: string | null;
  ownerId: string | null;
  integrationId: string | null;
  createdAt: Date;
  updatedAt: Date;
  rotatedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: string | null;
  /** As last flushed by the usage recorder; may lag by a few seconds. */
  lastUsedAt: Date | null;
  /** False while paused: every check answers DISABLED. */
  enabled: boolean;
  meta: Record<string, unknown> | null;
  externalId: string | null;
}

/** One of a token's secrets, current or rotated out. */
export interface TokenSecretRecord {
  secretHash: string;
  lookupTag: string | null;
  sealedSecret: SealedSecret | null;
  createdAt: Date;
  /** Null for the current secret; a rotated-out secret verifies while now < validUntil. */
  validUntil: Date | null;
}

export interface SecretMatch {
  secret: TokenSecretRecord;
  record: TokenRecord;
}

export interface TokenListFilter {
  tenantId: string;
  kind?: TokenKind | null;
  status?: TokenStatus | null;
  ownerId?: string | null;
  /** Tokens holding exactly this role. */
  role?: string | null;
  /** Case-insensitive, as codes are unique. */
  code?: string | null;
  integrationId?: string | null;
  /** Leaves out revoked tokens, whatever their expiry. */
  notRevoked?: boolean;
  /** Case-insensitive substring of the name. */
  search?: string | null;
  /** Tokens of this customer, compared exactly. */
  externalId?: string | null;
}

export interface TokenPage {
  records: TokenRecord[];
  totalCount: number;
  hasNextPage: boolean;
}

interface TokenRow {
  seq: number;
  id: string;
  tenant_id: string;
  kind: TokenKind;
  name: string;
  roles: string;
  display: string;
  secret_hash: string;
  origin: string;
  code: string | null;
  bot_name: string | null;
  avatar_url: string | null;
  owner_id: string | null;
  integration_id: string | null;
  created_at: string;
  updated_at: string;
  rotated_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
  last_used_at: string | null;
  enabled: number;
  meta: string | null;
  external_id: string | null;
}

/** Aliased so that joined with a token row no column shadows the token's own. */
interface SecretRow {
  s_secret_hash: string;
  s_lookup_tag: string | null;
  s_sealed_secret: string | null;
  s_created_at: string;
  s_valid_until: string | null;
}

const STATUS_COLUMNS = { revokedAt: 't.revoked_at', expiresAt: 't.expires_at' };

const date = (value: string | null) => (value ? new Date(value) : null);

function toRecord(row: TokenRow): TokenRecord {
  return {
    seq: row.seq,
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    name: row.name,
    roles: JSON.parse(row.roles) as string[],
    display: row.display,
    secretHash: row.secret_hash,
    origin: row.origin,
    code: row.code,
    botName: row.bot_name,
    avatarUrl: row.avatar_url,
    ownerId: row.owner_id,
    integrationId: row.integration_id,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    rotatedAt: date(row.rotated_at),
    expiresAt: date(row.expires_at),
    revokedAt: date(row.revoked_at),
    revokeReason: row.revoke_reason,
    lastUsedAt: date(row.last_used_at),
    enabled: row.enabled !== 0,
    meta: row.meta === null ? null : (JSON.parse(row.meta) as Record<string, unknown>),
    externalId: row.external_id,
  };
}

function toSecret(row: SecretRow): TokenSecretRecord {
  return {
    secretHash: row.s_secret_hash,
    lookupTag: row.s_lookup_tag,
    sealedSecret: row.s_sealed_secret ? (JSON.parse(row.s_sealed_secret) as SealedSecret) : null,
    createdAt: new Date(row.s_created_at),
    validUntil: date(row.s_valid_until),
  };
}

const TOKEN_COLUMNS = 't.*, u.last_used_at';
const FROM_TOKENS = 'tokens t LEFT JOIN token_usage u ON u.token_id = t.id';
const FROM_SECRETS = 'token_secrets s JOIN tokens t ON t.id = s.token_id LEFT JOIN token_usage u ON u.token_id = t.id';
const SECRET_COLUMNS =
  's.secret_hash AS s_secret_hash, s.lookup_tag AS s_lookup_tag, s.sealed_secret AS s_sealed_secret, s.created_at AS s_created_at, s.valid_until AS s_valid_until';

/** Read-side queries over the `tokens` read model. */
export class TokenQueries {
  private readonly byIdStatement: Statement<[string], TokenRow>;
  private readonly bySecretHashStatement: Statement<[string], TokenRow & SecretRow>;
  private readonly byLookupTagStatement: Statement<[string], TokenRow & SecretRow>;
  private readonly secretsOfStatement: Statement<[string], SecretRow>;

  constructor(private readonly db: Database) {
    ensureTokenUsageTable(db);
    this.byIdStatement = db.prepare(`SELECT ${TOKEN_COLUMNS} FROM ${FROM_TOKENS} WHERE t.id = ?`);
    this.bySecretHashStatement = db.prepare(
      `SELECT ${TOKEN_COLUMNS}, ${SECRET_COLUMNS} FROM ${FROM_SECRETS} WHERE s.secret_hash = ?`,
    );
    this.byLookupTagStatement = db.prepare(
      `SELECT ${TOKEN_COLUMNS}, ${SECRET_COLUMNS} FROM ${FROM_SECRETS} WHERE s.lookup_tag = ? LIMIT 16`,
    );
    // Current secret first, then the most recently rotated out.
    this.secretsOfStatement = db.prepare(
      `SELECT ${SECRET_COLUMNS} FROM token_secrets s WHERE s.token_id = ? ORDER BY s.valid_until IS NOT NULL, s.created_at DESC`,
    );
  }

  byId(id: string): TokenRecord | null {
    const row = this.byIdStatement.get(id);
    return row ? toRecord(row) : null;
  }

  /** The token one of whose secrets (current or rotated out) has this stored hash. */
  bySecretHash(secretHash: string): SecretMatch | null {
    const row = this.bySecretHashStatement.get(secretHash);
    return row ? { secret: toSecret(row), record: toRecord(row) } : null;
  }

  /** Argon2-hashed secrets (current or rotated out) with this lookup tag: the candidates to check. */
  byLookupTag(tag: string): SecretMatch[] {
    return this.byLookupTagStatement.all(tag).map((row) => ({ secret: toSecret(row), record: toRecord(row) }));
  }

  secretsOf(tokenId: string): TokenSecretRecord[] {
    return this.secretsOfStatement.all(tokenId).map(toSecret);
  }

  /** Newest first; `afterSeq` is the cursor of the last row of the previous page. */
  list(filter: TokenListFilter, first: number, afterSeq: number | null, now: Date): TokenPage {
    const where: string[] = ['t.tenant_id = @tenantId'];
    const params: Record<string, unknown> = { tenantId: filter.tenantId, now: now.toISOString() };
    if (filter.kind) {
      where.push('t.kind = @kind');
      params.kind = filter.kind;
    }
    if (filter.status) where.push(tokenStatusSql(filter.status, STATUS_COLUMNS, '@now'));
    if (filter.notRevoked) where.push(notRevokedSql(STATUS_COLUMNS));
    if (filter.ownerId) {
      where.push('t.owner_id = @ownerId');
      params.ownerId = filter.ownerId;
    }
    if (filter.integrationId) {
      where.push('t.integration_id = @integrationId');
      params.integrationId = filter.integrationId;
    }
    if (filter.code) {
      where.push('t.code = @code COLLATE NOCASE');
      params.code = filter.code;
    }
    if (filter.role) {
      where.push('EXISTS (SELECT 1 FROM json_each(t.roles) r WHERE r.value = @role)');
      params.role = filter.role;
    }
    if (filter.externalId) {
      where.push('t.external_id = @externalId');
      params.externalId = filter.externalId;
    }
    if (filter.search) {
      where.push("t.name LIKE @search ESCAPE '\\'");
      params.search = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    const condition = where.join(' AND ');
    const totalCount = (this.db.prepare(`SELECT count(*) AS n FROM tokens t WHERE ${condition}`).get(params) as { n: number }).n;
    const pageCondition = afterSeq === null ? condition : `${condition} AND t.seq < @afterSeq`;
    if (afterSeq !== null) params.afterSeq = afterSeq;
    const rows = this.db
      .prepare(`SELECT ${TOKEN_COLUMNS} FROM ${FROM_TOKENS} WHERE ${pageCondition} ORDER BY t.seq DESC LIMIT @limit`)
      .all({ ...params, limit: first + 1 }) as TokenRow[];
    return { records: rows.slice(0, first).map(toRecord), totalCount, hasNextPage: rows.length > first };
  }
}
