import type { Database, Statement } from 'better-sqlite3';

export type PartnerCredentialStatus = 'ACTIVE' | 'REVOKED';

/** A partner credential as the read model holds it. `secretHash` never leaves the service layer. */
export interface PartnerCredentialRecord {
  seq: number;
  id: string;
  tenantId: string;
  name: string;
  subTenantIds: string[];
  apiKey: string;
  secretDisplay: string;
  secretHash: string;
  createdAt: Date;
  updatedAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
}

export interface PartnerAccessTokenRecord {
  jti: string;
  credentialId: string;
  tenantId: string;
  subTenantId: string;
  kid: string;
  issuedAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface PartnerCredentialPage {
  records: PartnerCredentialRecord[];
  totalCount: number;
  hasNextPage: boolean;
}

interface CredentialRow {
  seq: number;
  id: string;
  tenant_id: string;
  name: string;
  sub_tenant_ids: string;
  api_key: string;
  secret_display: string;
  secret_hash: string;
  created_at: string;
  updated_at: string;
  revoked_at: string | null;
  revoke_reason: string | null;
}

interface AccessTokenRow {
  jti: string;
  credential_id: string;
  tenant_id: string;
  sub_tenant_id: string;
  kid: string;
  issued_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export function partnerCredentialStatus(record: Pick<PartnerCredentialRecord, 'revokedAt'>): PartnerCredentialStatus {
  return record.revokedAt ? 'REVOKED' : 'ACTIVE';
}

function toCredential(row: CredentialRow): PartnerCredentialRecord {
  return {
    seq: row.seq,
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    subTenantIds: JSON.parse(row.sub_tenant_ids) as string[],
    apiKey: row.api_key,
    secretDisplay: row.secret_display,
    secretHash: row.secret_hash,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
    revokeReason: row.revoke_reason,
  };
}

function toAccessToken(row: AccessTokenRow): PartnerAccessTokenRecord {
  return {
    jti: row.jti,
    credentialId: row.credential_id,
    tenantId: row.tenant_id,
    subTenantId: row.sub_tenant_id,
    kid: row.kid,
    issuedAt: new Date(row.issued_at),
    expiresAt: new Date(row.expires_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
  };
}

/** Read-side queries over the `partners` read model. */
export class PartnerQueries {
  private readonly byIdStatement: Statement<[string], CredentialRow>;
  private readonly byApiKeyStatement: Statement<[string], CredentialRow>;
  private readonly countStatement: Statement<[string], { n: number }>;
  private readonly pageStatement: Statement<{ tenantId: string; afterSeq: number; limit: number }, CredentialRow>;
  private readonly accessTokenStatement: Statement<[string], AccessTokenRow>;

  constructor(db: Database) {
    this.byIdStatement = db.prepare('SELECT * FROM partner_credentials WHERE id = ?');
    this.byApiKeyStatement = db.prepare('SELECT * FROM partner_credentials WHERE api_key = ?');
    this.countStatement = db.prepare('SELECT count(*) AS n FROM partner_credentials WHERE tenant_id = ?');
    this.pageStatement = db.prepare(
      'SELECT * FROM partner_credentials WHERE tenant_id = @tenantId AND seq < @afterSeq ORDER BY seq DESC LIMIT @limit',
    );
    this.accessTokenStatement = db.prepare('SELECT * FROM partner_access_tokens WHERE jti = ?');
  }

  byId(id: string): PartnerCredentialRecord | null {
    const row = this.byIdStatement.get(id);
    return row ? toCredential(row) : null;
  }

  byApiKey(apiKey: string): PartnerCredentialRecord | null {
    const row = this.byApiKeyStatement.get(apiKey);
    return row ? toCredential(row) : null;
  }

  /** Newest first; `afterSeq` is the cursor of the last row of the previous page. */
  list(tenantId: string, first: number, afterSeq: number | null): PartnerCredentialPage {
    const totalCount = this.countStatement.get(tenantId)!.n;
    const rows = this.pageStatement.all({ tenantId, afterSeq: afterSeq ?? Number.MAX_SAFE_INTEGER, limit: first + 1 });
    return { records: rows.slice(0, first).map(toCredential), totalCount, hasNextPage: rows.length > first };
  }

  accessToken(jti: string): PartnerAccessTokenRecord | null {
    const row = this.accessTokenStatement.get(jti);
    return row ? toAccessToken(row) : null;
  }
}
