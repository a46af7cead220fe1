import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, SignJWT } from 'jose';
import { hasLowS, withLowS } from '../../../src/crypto/ecdsa-low-s';
import { readJwsHeader } from '../../../src/crypto/jose-header';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jws = (header: unknown) => `${b64url(header)}.${b64url({})}.sig`;

describe('readJwsHeader', () => {
  it('a header with string alg, kid, typ and a crit list is a JWS', () => {
    expect(readJwsHeader(jws({ alg: 'ES256', kid: 'k', typ: 'at+jwt', crit: ['b64'], b64: false }))).toEqual({
      form: 'jws',
      header: { alg: 'ES256', kid: 'k', typ: 'at+jwt', crit: ['b64'], b64: false },
    });
  });

  it.each([
    ['kid true', { alg: 'ES256', kid: true }],
    ['kid an object', { alg: 'ES256', kid: {} }],
    ['alg a number', { alg: 1 }],
    ['no alg', { kid: 'k' }],
    ['typ an array', { alg: 'ES256', typ: ['JWT'] }],
    ['crit a string', { alg: 'HS256', crit: 'exp' }],
    ['an empty object', {}],
    ['null', null],
    ['a number', 7],
  ])('JSON that is no usable JOSE header (%s) is malformed', (_name, header) => {
    expect(readJwsHeader(jws(header))).toEqual({ form: 'malformed' });
  });

  it('dotted text whose first part is not JSON is no JWS at all', () => {
    expect(readJwsHeader('abc.def.ghi')).toEqual({ form: 'not-jws' });
    expect(readJwsHeader('no-dots-at-all')).toEqual({ form: 'not-jws' });
  });
});

describe('low-s ES256 signatures', () => {
  it('withLowS keeps a signature valid and makes its s low', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 8; i++) {
      const signed = withLowS(await new SignJWT({ i }).setProtectedHeader({ alg: 'ES256' }).sign(privateKey));
      expect(hasLowS(signed)).toBe(true);
      await expect(compactVerify(signed, publicKey)).resolves.toBeDefined();
    }
  });
});
