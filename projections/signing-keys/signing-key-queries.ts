import type { Database, Statement } from 'better-sqlite3';
import type { PublicJwk, SigningAlgorithm, WrappedPrivateKey } from '../../src/domain/signing-keys/events';
import type { SigningKey } from '../../src/domain/signing-keys/state';

interface SigningKeyRow {
  kid: string;
  alg: SigningAlgorithm;
  public_jwk: string;
  wrapped_private_key: string;
  created_at: string;
  retired_at: string | null;
  published_until: string | null;
}

function toKey(row: SigningKeyRow): SigningKey {
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: JSON.parse(row.public_jwk) as PublicJwk,
    wrappedPrivateKey: JSON.parse(row.wrapped_private_key) as WrappedPrivateKey,
    createdAt: row.created_at,
    retiredAt: row.retired_at,
    publishedUntil: row.published_until,
  };
}

export class SigningKeyQueries {
  private readonly activeStatement: Statement<[], SigningKeyRow>;
  private readonly byKidStatement: Statement<[string], SigningKeyRow>;
  private readonly publishedStatement: Statement<[string], SigningKeyRow>;

  constructor(db: Database) {
    this.activeStatement = db.prepare('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY seq DESC LIMIT 1');
    this.byKidStatement = db.prepare('SELECT * FROM signing_keys WHERE kid = ?');
    this.publishedStatement = db.prepare(
      'SELECT * FROM signing_keys WHERE retired_at IS NULL OR published_until > ? ORDER BY seq DESC',
    );
  }

  active(): SigningKey | null {
    const row = this.activeStatement.get();
    return row ? toKey(row) : null;
  }

  byKid(kid: string): SigningKey | null {
    const row = this.byKidStatement.get(kid);
    return row ? toKey(row) : null;
  }

  /** Newest first: the active key, then retired keys still within their publication window. */
  published(now: Date): SigningKey[] {
    return this.publishedStatement.all(now.toISOString()).map(toKey);
  }
}
