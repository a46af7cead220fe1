import { signingKeysProjection } from '../../../projections/signing-keys';
import type { SigningKeyGenerated, SigningKeyRotated } from '../../../src/domain/signing-keys/events';
import { given } from './projection-given';

const material = (kid: string) => ({
  kid,
  alg: 'ES256' as const,
  publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` },
  wrappedPrivateKey: { scheme: 'aes-256-gcm/v1', iv: 'aXY', ciphertext: 'Y2lwaGVy', tag: 'dGFn' },
});

const generated = (kid = 'key_1', generatedAt = '2030-01-01T00:00:00.000Z') => ({
  type: 'SigningKeyGenerated',
  data: { ...material(kid), generatedAt } satisfies SigningKeyGenerated['data'],
});

const rotated = (kid: string, previousKid: string, rotatedAt: string, previousPublishedUntil: string) => ({
  type: 'SigningKeyRotated',
  data: { ...material(kid), rotatedAt, previousKid, previousPublishedUntil } satisfies SigningKeyRotated['data'],
});

const COLUMNS = ['kid', 'alg', 'public_jwk', 'created_at', 'retired_at', 'published_until'];

describe('signing keys projection', () => {
  it('given SigningKeyGenerated, then one live key with its public JWK as JSON', () => {
    given(signingKeysProjection, [generated()]).then('signing_keys', COLUMNS, [
      {
        kid: 'key_1',
        alg: 'ES256',
        public_jwk: JSON.stringify(material('key_1').publicJwk),
        created_at: '2030-01-01T00:00:00.000Z',
        retired_at: null,
        published_until: null,
      },
    ]);
  });

  it('given a second SigningKeyGenerated (a race lost at start-up), then only the first key counts', () => {
    given(signingKeysProjection, [generated('key_1'), generated('key_2', '2030-01-01T00:00:01.000Z')]).then('signing_keys', ['kid'], [{ kid: 'key_1' }]);
  });

  it('given SigningKeyRotated, then the previous key is retired and stays published until its last token expires', () => {
    given(signingKeysProjection, [generated(), rotated('key_2', 'key_1', '2030-02-01T00:00:00.000Z', '2030-02-02T00:00:00.000Z')]).then(
      'signing_keys',
      ['kid', 'created_at', 'retired_at', 'published_until'],
      [
        { kid: 'key_1', created_at: '2030-01-01T00:00:00.000Z', retired_at: '2030-02-01T00:00:00.000Z', published_until: '2030-02-02T00:00:00.000Z' },
        { kid: 'key_2', created_at: '2030-02-01T00:00:00.000Z', retired_at: null, published_until: null },
      ],
    );
  });
});
