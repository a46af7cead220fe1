import type { Database, Statement } from 'better-sqlite3';
import type { TokenIssued, TokenUpdated } from '../../src/domain/tokens/events';
import type { Credits, TokenRateLimit } from '../../src/domain/tokens/usage-controls';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/**
 * The `token_controls` read model: a row for each token that ever had usage controls
 * (credits, rate limits), none for the others, so verifying a plain token reads one index
 * and finds nothing. `credits_grant` is the revision, in the token's stream, of the event
 * that last set the credits: spends name it, so a balance set again starts afresh.
 */
export const tokenControlsProjection: Projection = {
  name: 'token-controls',
  version: 1,
  eventTypes: ['TokenIssued', 'TokenUpdated'],

  migrate(db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS token_controls (
        token_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        credits TEXT,
        credits_grant INTEGER,
        credits_set_at TEXT,
        rate_limits TEXT
      ) WITHOUT ROWID;
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS token_controls;');
  },

  handler(db: Database): ProjectionHandler {
    const setCredits = db.prepare(`
      INSERT INTO token_controls (token_id, tenant_id, credits, credits_grant, credits_set_at) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (token_id) DO UPDATE SET credits = excluded.credits, credits_grant = excluded.credits_grant, credits_set_at = excluded.credits_set_at`);
    const setRateLimits = db.prepare(`
      INSERT INTO token_controls (token_id, tenant_id, rate_limits) VALUES (?, ?, ?)
      ON CONFLICT (token_id) DO UPDATE SET rate_limits = excluded.rate_limits`);
    const credits = (value: Credits | null | undefined) => (value ? JSON.stringify(value) : null);
    const limits = (value: TokenRateLimit[]) => (value.length > 0 ? JSON.stringify(value) : null);
    return {
      apply(event: RecordedEvent) {
        if (event.type === 'TokenIssued') {
          const data = event.data as TokenIssued['data'];
          if (data.credits) setCredits.run(data.tokenId, data.tenantId, credits(data.credits), event.revision, data.issuedAt);
          if (data.rateLimits) setRateLimits.run(data.tokenId, data.tenantId, limits(data.rateLimits));
        } else if (event.type === 'TokenUpdated') {
          const data = event.data as TokenUpdated['data'];
          const changes = data.changes;
          if (changes.credits !== undefined) setCredits.run(data.tokenId, data.tenantId, credits(changes.credits), event.revision, data.updatedAt);
          if (changes.rateLimits !== undefined) setRateLimits.run(data.tokenId, data.tenantId, limits(changes.rateLimits));
        }
      },
    };
  },
};

/** A token's usage controls as the read model holds them. */
export interface TokenControls {
  credits: Credits | null;
  /** See `token_controls.credits_grant`; null without credits. */
  creditsGrant: number | null;
  creditsSetAt: Date | null;
  rateLimits: TokenRateLimit[];
}

interface ControlsRow {
  credits: string | null;
  credits_grant: number | null;
  credits_set_at: string | null;
  rate_limits: string | null;
}

export class TokenControlsQueries {
  private readonly select: Statement<[string], ControlsRow>;

  constructor(db: Database) {
    tokenControlsProjection.migrate(db);
    this.select = db.prepare('SELECT credits, credits_grant, credits_set_at, rate_limits FROM token_controls WHERE token_id = ?');
  }

  /** Null for a token that never had controls: the common case, one index probe. */
  of(tokenId: string): TokenControls | null {
    const row = this.select.get(tokenId);
    if (!row) return null;
    const credits = row.credits ? (JSON.parse(row.credits) as Credits) : null;
    return {
      credits,
      creditsGrant: credits ? row.credits_grant : null,
      creditsSetAt: credits && row.credits_set_at ? new Date(row.credits_set_at) : null,
      rateLimits: row.rate_limits ? (JSON.parse(row.rate_limits) as TokenRateLimit[]) : [],
    };
  }
}
