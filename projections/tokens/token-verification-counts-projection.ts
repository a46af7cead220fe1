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

export class TokenVerificationCountQueries {
  private readonly byHour: Statement<[string, string, string, string], { bucket: string; code: string; count: number }>;
  private readonly byDay: Statement<[string, string, string, string], { bucket: string; code: string; count: number }>;

  constructor(db: Database) {
    tokenVerificationCountsProjection.migrate(db);
    const select = (bucket: string) =>
      db.prepare<[string, string, string, string], { bucket: string; code: string; count: number }>(`
        SELECT ${bucket} AS bucket, code, sum(count) AS count FROM token_verification_counts
        WHERE tenant_id = ? AND token_id = ? AND hour >= ? AND hour < ?
        GROUP BY bucket, code ORDER BY bucket, code`);
    this.byHour = select('hour');
    this.byDay = select("substr(hour, 1, 10) || 'T00:00:00.000Z'");
  }

  /** Non-empty buckets of `[from, to)`, oldest first; `from` and `to` are bucket starts. */
  buckets(tenantId: string, tokenId: string, from: Date, to: Date, granularity: UsageGranularity): UsageBucketRow[] {
    const statement = granularity === 'DAY' ? this.byDay : this.byHour;
    const rows = statement.all(tenantId, tokenId, from.toISOString(), to.toISOString());
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
}
