import type { Database, Statement } from 'better-sqlite3';
import type { TokenVerificationsCounted } from '../../src/domain/token-usage/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/**
 * The `token_verification_counts` read model: the verification outcomes counted by each
 * gateway, one row per event, token, hour and code. Keyed by the event, so applying an event
 * twice counts it once; queries add the rows of a token's hours up.
 */
export const tokenVerificationCountsProjection: Projection = {
  name: 'token-verification-counts',
  version: 1,
  eventTypes: ['TokenVerificationsCounted'],

  migrate(db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS token_verification_counts (
        event_id TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        token_id TEXT NOT NULL,
        hour TEXT NOT NULL,
        code TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (event_id, token_id, hour, code)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS token_verification_counts_by_token ON token_verification_counts (tenant_id, token_id, hour);
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS token_verification_counts;');
  },

  handler(db: Database): ProjectionHandler {
    const insert = db.prepare(`
      INSERT INTO token_verification_counts (event_id, tenant_id, token_id, hour, code, count) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING`);
    return {
      apply(event: RecordedEvent) {
        const data = event.data as TokenVerificationsCounted['data'];
        for (const bucket of data.buckets) insert.run(event.id, data.tenantId, bucket.tokenId, bucket.hour, bucket.code, bucket.count);
      },
    };
  },
};

export type UsageGranularity = 'HOUR' | 'DAY';

export interface UsageBucketRow {
  /** The bucket's start: an hour, or a UTC day at midnight. */
  start: Date;
  counts: Array<{ code: string; count: number }>;
}

type BucketStatement = Statement<[string, string, string, string], { bucket: string; code: string; count: number }>;

const HOUR_BUCKET = 'c.hour';
const DAY_BUCKET = "substr(c.hour, 1, 10) || 'T00:00:00.000Z'";

export class TokenVerificationCountQueries {
  private readonly ofToken: Record<UsageGranularity, BucketStatement>;
  private readonly ofIdentity: Record<UsageGranularity, BucketStatement>;

  /** Reads the `tokens` read model too, which must exist in `db`. */
  constructor(db: Database) {
    tokenVerificationCountsProjection.migrate(db);
    const select = (bucket: string, tokens: string) =>
      db.prepare<[string, string, string, string], { bucket: string; code: string; count: number }>(`
        SELECT ${bucket} AS bucket, c.code AS code, sum(c.count) AS count FROM token_verification_counts c
        WHERE c.tenant_id = ? AND c.token_id ${tokens} AND c.hour >= ? AND c.hour < ?
        GROUP BY bucket, c.code ORDER BY bucket, c.code`);
    this.ofToken = { HOUR: select(HOUR_BUCKET, '= ?'), DAY: select(DAY_BUCKET, '= ?') };
    // The tokens of the identity as the read model holds them now, each of the same tenant as the counts.
    const ofIdentity = 'IN (SELECT t.id FROM tokens t WHERE t.tenant_id = c.tenant_id AND t.external_id = ?)';
    this.ofIdentity = { HOUR: select(HOUR_BUCKET, ofIdentity), DAY: select(DAY_BUCKET, ofIdentity) };
  }

  /** Non-empty buckets of `[from, to)`, oldest first; `from` and `to` are bucket starts. */
  buckets(tenantId: string, tokenId: string, from: Date, to: Date, granularity: UsageGranularity): UsageBucketRow[] {
    return bucketsOf(this.ofToken[granularity].all(tenantId, tokenId, from.toISOString(), to.toISOString()));
  }

  /** The buckets of every token of the tenant that holds `externalId` now, added up. */
  identityBuckets(tenantId: string, externalId: string, from: Date, to: Date, granularity: UsageGranularity): UsageBucketRow[] {
    return bucketsOf(this.ofIdentity[granularity].all(tenantId, externalId, from.toISOString(), to.toISOString()));
  }
}

function bucketsOf(rows: Array<{ bucket: string; code: string; count: number }>): UsageBucketRow[] {
  const buckets: UsageBucketRow[] = [];
  for (const row of rows) {
    let last = buckets.at(-1);
    if (!last || last.start.toISOString() !== row.bucket) {
      last = { start: new Date(row.bucket), counts: [] };
      buckets.push(last);
    }
    last.counts.push({ code: row.code, count: row.count });
  }
  return buckets;
}
