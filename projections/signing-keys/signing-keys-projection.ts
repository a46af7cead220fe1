import type { Database } from 'better-sqlite3';
import type { SigningKeyGenerated, SigningKeyRotated } from '../../src/domain/signing-keys/events';
import type { RecordedEvent } from '../../src/eventstore/port';
import type { Projection, ProjectionHandler } from '../projection';

/**
 * The `signing_keys` read model: every key with its public JWK, its wrapped private part and
 * the instants that decide whether it signs and whether it is published. Retired keys stay
 * as rows; queries compare `published_until` with the clock, so nothing has to expire them.
 */
export const signingKeysProjection: Projection = {
  name: 'signing_keys',
  version: 1,
  eventTypes: ['SigningKeyGenerated', 'SigningKeyRotated'],

  migrate(db: Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS signing_keys (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kid TEXT NOT NULL UNIQUE,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        wrapped_private_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        retired_at TEXT,
        published_until TEXT
      );
    `);
  },

  drop(db: Database) {
    db.exec('DROP TABLE IF EXISTS signing_keys');
  },

  handler(db: Database): ProjectionHandler {
    const insert = db.prepare(`
      INSERT INTO signing_keys (kid, alg, public_jwk, wrapped_private_key, created_at)
      VALUES (@kid, @alg, @publicJwk, @wrappedPrivateKey, @createdAt)
      ON CONFLICT (kid) DO NOTHING`);
    const retire = db.prepare(`
      UPDATE signing_keys SET retired_at = @retiredAt, published_until = @publishedUntil
      WHERE kid = @kid AND retired_at IS NULL`);
    const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM signing_keys');
    return {
      apply(event: RecordedEvent) {
        switch (event.type) {
          case 'SigningKeyGenerated': {
            const data = event.data as unknown as SigningKeyGenerated['data'];
            // Only the first key of the stream counts, exactly as the domain's evolve says.
            if (count.get()!.n > 0) break;
            insert.run({ ...encode(data), createdAt: data.generatedAt });
            break;
          }
          case 'SigningKeyRotated': {
            const data = event.data as unknown as SigningKeyRotated['data'];
            retire.run({ kid: data.previousKid, retiredAt: data.rotatedAt, publishedUntil: data.previousPublishedUntil });
            insert.run({ ...encode(data), createdAt: data.rotatedAt });
            break;
          }
        }
      },
    };
  },
};

function encode(data: SigningKeyGenerated['data'] | SigningKeyRotated['data']) {
  return {
    kid: data.kid,
    alg: data.alg,
    publicJwk: JSON.stringify(data.publicJwk),
    wrappedPrivateKey: JSON.stringify(data.wrappedPrivateKey),
  };
}
