import { KeyledgerError } from '../../../src/domain/errors';
import {
  activeKey,
  decide,
  foldSigningKeyEvents,
  isPublished,
  publishedKeys,
  RETIRED_KEY_PUBLISHED_FOR_MS,
  type SigningKeyCommand,
  type SigningKeyEvent,
  type SigningKeyGenerated,
  type SigningKeyMaterial,
  type SigningKeyRotated,
} from '../../../src/domain/signing-keys';

const T0 = new Date('2030-03-01T12:00:00.000Z');
const T1 = new Date('2030-03-02T08:00:00.000Z');
const HOUR = 3600_000;

function material(kid: string): SigningKeyMaterial {
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` },
    wrappedPrivateKey: { scheme: 'A256GCM/test', iv: 'aXY', ciphertext: `ct-${kid}`, tag: 'dGFn' },
  };
}

const KID_A = 'kid-aaaaaaaaaaaaaaaa';
const KID_B = 'kid-bbbbbbbbbbbbbbbb';
const KID_C = 'kid-cccccccccccccccc';

const generated = (kid = KID_A, at = T0): SigningKeyGenerated => ({
  type: 'SigningKeyGenerated',
  data: { ...material(kid), generatedAt: at.toISOString() },
});

const rotated = (kid: string, previousKid: string, at: Date): SigningKeyRotated => ({
  type: 'SigningKeyRotated',
  data: {
    ...material(kid),
    rotatedAt: at.toISOString(),
    previousKid,
    previousPublishedUntil: new Date(at.getTime() + RETIRED_KEY_PUBLISHED_FOR_MS).toISOString(),
  },
});

function given(events: readonly SigningKeyEvent[]) {
  return {
    when(command: SigningKeyCommand, now: Date) {
      const run = () => decide(command, foldSigningKeyEvents(events), now);
      return {
        then: (expected: SigningKeyEvent[]) => expect(run()).toEqual(expected),
        thenThrows(code: string, message: RegExp) {
          expect(run).toThrow(KeyledgerError);
          expect(run).toThrow(message);
          try {
            run();
          } catch (error) {
            expect((error as KeyledgerError).code).toBe(code);
          }
        },
      };
    },
  };
}

describe('signing keys: GenerateSigningKey', () => {
  it('on an empty log, creates the first key', () => {
    given([]).when({ type: 'GenerateSigningKey', key: material(KID_A) }, T0).then([generated()]);
  });

  it('once a key exists, does nothing: every process starting later keeps the existing key', () => {
    given([generated()]).when({ type: 'GenerateSigningKey', key: material(KID_B) }, T1).then([]);
    given([generated(), rotated(KID_B, KID_A, T1)]).when({ type: 'GenerateSigningKey', key: material(KID_C) }, T1).then([]);
  });

  it('refuses an algorithm outside the allow-list', () => {
    given([]).when({ type: 'GenerateSigningKey', key: { ...material(KID_A), alg: 'HS256' as never } }, T0).thenThrows('BAD_USER_INPUT', /Unsupported signing algorithm HS256/);
    given([]).when({ type: 'GenerateSigningKey', key: { ...material(KID_A), alg: 'none' as never } }, T0).thenThrows('BAD_USER_INPUT', /Unsupported/);
  });

  it('refuses a published key that carries a private member', () => {
    const key = material(KID_A);
    given([])
      .when({ type: 'GenerateSigningKey', key: { ...key, publicJwk: { ...key.publicJwk, d: 'private' } } }, T0)
      .thenThrows('BAD_USER_INPUT', /private members/);
  });

  it('copies only the key fields into the event, so nothing extra reaches the log', () => {
    const key = material(KID_A);
    const extended = { ...key, privateJwk: { d: 'SECRET' }, publicJwk: { ...key.publicJwk, extra: 'SECRET' } } as SigningKeyMaterial;
    const [event] = decide({ type: 'GenerateSigningKey', key: extended }, foldSigningKeyEvents([]), T0);
    expect(JSON.stringify(event)).not.toContain('SECRET');
  });
});

describe('signing keys: RotateSigningKey', () => {
  it('replaces the active key; the previous stays published for 24 hours and a minute', () => {
    given([generated()]).when({ type: 'RotateSigningKey', key: material(KID_B) }, T1).then([rotated(KID_B, KID_A, T1)]);
    expect(RETIRED_KEY_PUBLISHED_FOR_MS).toBe(24 * HOUR + 60_000);
  });

  it('retires the most recent key on a second rotation', () => {
    const t2 = new Date(T1.getTime() + HOUR);
    given([generated(), rotated(KID_B, KID_A, T1)]).when({ type: 'RotateSigningKey', key: material(KID_C) }, t2).then([rotated(KID_C, KID_B, t2)]);
  });

  it('on an empty log is a CONFLICT: there is nothing to rotate', () => {
    given([]).when({ type: 'RotateSigningKey', key: material(KID_A) }, T0).thenThrows('CONFLICT', /no signing key to rotate/);
  });

  it('never reuses a kid', () => {
    given([generated()]).when({ type: 'RotateSigningKey', key: material(KID_A) }, T1).thenThrows('CONFLICT', /already exists/);
  });
});

describe('signing keys: which keys sign and which are published', () => {
  it('the newest key signs', () => {
    expect(activeKey(foldSigningKeyEvents([]))).toBeNull();
    expect(activeKey(foldSigningKeyEvents([generated()]))!.kid).toBe(KID_A);
    expect(activeKey(foldSigningKeyEvents([generated(), rotated(KID_B, KID_A, T1)]))!.kid).toBe(KID_B);
  });

  it('a retired key is published until its last token has expired, then drops out', () => {
    const state = foldSigningKeyEvents([generated(), rotated(KID_B, KID_A, T1)]);
    const kids = (now: Date) => publishedKeys(state, now).map((key) => key.kid);
    expect(kids(T1)).toEqual([KID_A, KID_B]);
    expect(kids(new Date(T1.getTime() + 24 * HOUR))).toEqual([KID_A, KID_B]);
    expect(kids(new Date(T1.getTime() + RETIRED_KEY_PUBLISHED_FOR_MS - 1))).toEqual([KID_A, KID_B]);
    expect(kids(new Date(T1.getTime() + RETIRED_KEY_PUBLISHED_FOR_MS))).toEqual([KID_B]);
  });

  it('the active key is always published', () => {
    expect(isPublished({ retiredAt: null, publishedUntil: null }, new Date('2999-01-01T00:00:00Z'))).toBe(true);
  });

  it('a second generated event in the stream changes nothing (only the first key counts)', () => {
    const state = foldSigningKeyEvents([generated(KID_A), generated(KID_B, T1)]);
    expect(state.keys.map((key) => key.kid)).toEqual([KID_A]);
  });
});
