import type { Database, Statement } from 'better-sqlite3';
import type { SealedSecret } from '../../src/domain/tokens/events';

/** A live connection as the read model holds it. `sealedApiKey` never leaves the service layer. */
export interface ConnectionRecord {
  seq: number;
  connectionId: string;
  tenantId: string;
  integration: string;
  name: string;
  headerName: string;
  allowedDomain: string;
  sealedApiKey: SealedSecret;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConnectionPage {
  records: ConnectionRecord[];
  totalCount: number;
  hasNextPage: boolean;
}

interface ConnectionRow {
  seq: number;
  connection_id: string;
  tenant_id: string;
  integration: string;
  name: string;
  header_name: string;
  allowed_domain: string;
  sealed_api_key: string;
  created_at: string;
  updated_at: string;
}

function toRecord(row: ConnectionRow): ConnectionRecord {
  return {
    seq: row.seq,
    connectionId: row.connection_id,
    tenantId: row.tenant_id,
    integration: row.integration,
    name: row.name,
    headerName: row.header_name,
    allowedDomain: row.allowed_domain,
    sealedApiKey: JSON.parse(row.sealed_api_key) as SealedSecret,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

/** Read-side queries over the `connections` read model. */
export class ConnectionQueries {
  private readonly byNameStatement: Statement<[string, string, string], ConnectionRow>;
  private readonly countStatement: Statement<[string, string], { n: number }>;
  private readonly pageStatement: Statement<{ tenantId: string; integration: string; afterSeq: number; limit: number }, ConnectionRow>;
  private readonly dataKeysStatement: Statement<[], { sealed_api_key: string }>;

  constructor(db: Database) {
    this.byNameStatement = db.prepare('SELECT * FROM api_key_connections WHERE tenant_id = ? AND integration = ? AND name = ?');
    this.countStatement = db.prepare('SELECT count(*) AS n FROM api_key_connections WHERE tenant_id = ? AND integration = ?');
    this.pageStatement = db.prepare(
      'SELECT * FROM api_key_connections WHERE tenant_id = @tenantId AND integration = @integration AND seq < @afterSeq ORDER BY seq DESC LIMIT @limit',
    );
    this.dataKeysStatement = db.prepare('SELECT sealed_api_key FROM api_key_connections');
  }

  byName(tenantId: string, integration: string, name: string): ConnectionRecord | null {
    const row = this.byNameStatement.get(tenantId, integration, name);
    return row ? toRecord(row) : null;
  }

  /** Newest first, from before `afterSeq` (exclusive). */
  page(tenantId: string, integration: string, first: number, afterSeq: number | null): ConnectionPage {
    const rows = this.pageStatement.all({ tenantId, integration, afterSeq: afterSeq ?? Number.MAX_SAFE_INTEGER, limit: first + 1 });
    return {
      records: rows.slice(0, first).map(toRecord),
      totalCount: this.countStatement.get(tenantId, integration)!.n,
      hasNextPage: rows.length > first,
    };
  }

  /** The data keys live connections hold; any other connection data key is left over. */
  dataKeyIdsInUse(): Set<string> {
    return new Set(this.dataKeysStatement.all().map((row) => (JSON.parse(row.sealed_api_key) as SealedSecret).dataKeyId));
  }
}
