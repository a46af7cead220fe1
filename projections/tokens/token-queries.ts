import type { Database, Statement } from 'better-sqlite3';
import type { TokenKind } from '../../src/domain/tokens/events';

export type TokenStatus = 'ACTIVE' | 'REVOKED' | 'EXPIRED';

/** A token as the read model holds it. `secretHash` never leaves the service layer. */
export interface TokenRecord {
  seq: number;
  id: string;
  tenantId: string;
  kind: TokenKind;
  name: string;
  roles: string[];
  display: string;
  secretHash: string;
  origin: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokeReason: string | null;
}

export interface TokenListFilter {
  tenantId: string;
  kind?: TokenKind | null;
  status?: TokenStatus | null;
  /** Case-insensitive substring of the name. */
  search?: string | null;
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
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoke_reason: string | null;
}

export function tokenStatus(record: Pick<TokenRecord, 'revokedAt' | 'expiresAt'>, now: Date): TokenStatus {
  if (record.revokedAt) return 'REVOKED';
  if (record.expiresAt && record.expiresAt.getTime() <= now.getTime()) return 'EXPIRED';
  return 'ACTIVE';
}

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
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
    revokeReason: row.revoke_reason,
  };
}

/** Read-side queries over the `tokens` read model. */
export class TokenQueries {
  private readonly byIdStatement: Statement<[string], TokenRow>;
  private readonly bySecretHashStatement: Statement<[string], TokenRow>;
  private readonly byLookupTagStatement: Statement<[string], TokenRow>;

  constructor(private readonly db: Database) {
    this.byIdStatement = db.prepare('SELECT * FROM tokens WHERE id = ?');
    this.bySecretHashStatement = db.prepare('SELECT * FROM tokens WHERE secret_hash = ?');
    this.byLookupTagStatement = db.prepare('SELECT * FROM tokens WHERE lookup_tag = ? LIMIT 16');
  }

  byId(id: string): TokenRecord | null {
    const row = this.byIdStatement.get(id);
    return row ? toRecord(row) : null;
  }

  bySecretHash(secretHash: string): TokenRecord | null {
    const row = this.bySecretHashStatement.get(secretHash);
    return row ? toRecord(row) : null;
  }

  byLookupTag(tag: string): TokenRecord[] {
    return this.byLookupTagStatement.all(tag).map(toRecord);
  }

  /** Newest first; `afterSeq` is the cursor of the last row of the previous page. */
  list(filter: TokenListFilter, first: number, afterSeq: number | null, now: Date): TokenPage {
    const where: string[] = ['tenant_id = @tenantId'];
    const params: Record<string, unknown> = { tenantId: filter.tenantId, now: now.toISOString() };
    if (filter.kind) {
      where.push('kind = @kind');
      params.kind = filter.kind;
    }
    if (filter.status === 'REVOKED') where.push('revoked_at IS NOT NULL');
    if (filter.status === 'EXPIRED') where.push('revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= @now');
    if (filter.status === 'ACTIVE') where.push('revoked_at IS NULL AND (expires_at IS NULL OR expires_at > @now)');
    if (filter.search) {
      where.push("name LIKE @search ESCAPE '\\'");
      params.search = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    const condition = where.join(' AND ');
    const totalCount = (this.db.prepare(`SELECT count(*) AS n FROM tokens WHERE ${condition}`).get(params) as { n: number }).n;
    const pageCondition = afterSeq === null ? condition : `${condition} AND seq < @afterSeq`;
    if (afterSeq !== null) params.afterSeq = afterSeq;
    const rows = this.db
      .prepare(`SELECT * FROM tokens WHERE ${pageCondition} ORDER BY seq DESC LIMIT @limit`)
      .all({ ...params, limit: first + 1 }) as TokenRow[];
    return { records: rows.slice(0, first).map(toRecord), totalCount, hasNextPage: rows.length > first };
  }
}
