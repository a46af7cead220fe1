import { SignJWT, UnsecuredJWT } from 'jose';
import { classifyPresented } from '../../../src/app/credentials/presented-credential';

const KEY_ID = 'tok_0123456789abcdefABCDEF';
const SECRET = 'kli_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const basic = (value: string) => `Basic ${Buffer.from(value).toString('base64')}`;

describe('classifyPresented', () => {
  it('a bare secret, generated or chosen', () => {
    expect(classifyPresented(SECRET)).toEqual({ form: 'secret', secret: SECRET });
    expect(classifyPresented('my-imported-secret!')).toEqual({ form: 'secret', secret: 'my-imported-secret!' });
  });

  it('keyId:secret, bare or as HTTP Basic (any case, with the secret containing colons)', () => {
    expect(classifyPresented(`${KEY_ID}:${SECRET}`)).toEqual({ form: 'basic', keyId: KEY_ID, secret: SECRET });
    expect(classifyPresented(basic(`${KEY_ID}:${SECRET}`))).toEqual({ form: 'basic', keyId: KEY_ID, secret: SECRET });
    expect(classifyPresented(`basic  ${Buffer.from(`${KEY_ID}:a:b`).toString('base64')}`)).toEqual({ form: 'basic', keyId: KEY_ID, secret: 'a:b' });
  });

  it('a Basic credential that is not base64 of keyId:secret is malformed', () => {
    expect(classifyPresented('Basic !!!')).toEqual({ form: 'malformed' });
    expect(classifyPresented(basic('user:password'))).toEqual({ form: 'malformed' });
    expect(classifyPresented(basic(`${KEY_ID}:`))).toEqual({ form: 'malformed' });
  });

  it('an HS256 JWT with a key id as kid', async () => {
    const jwt = await new SignJWT({ scope: 'app' }).setProtectedHeader({ alg: 'HS256', kid: KEY_ID }).sign(new TextEncoder().encode(SECRET));
    expect(classifyPresented(jwt)).toEqual({ form: 'jwt', keyId: KEY_ID, jwt });
  });

  it('a JWT with alg none, another algorithm, or no usable kid is malformed', async () => {
    const none = new UnsecuredJWT({ scope: 'app' }).encode();
    const noneWithKid = `${Buffer.from(JSON.stringify({ alg: 'none', kid: KEY_ID })).toString('base64url')}.${none.split('.')[1]}.`;
    expect(classifyPresented(noneWithKid)).toEqual({ form: 'malformed' });
    const key = new TextEncoder().encode(SECRET);
    const hs512 = await new SignJWT({}).setProtectedHeader({ alg: 'HS512', kid: KEY_ID }).sign(key);
    expect(classifyPresented(hs512)).toEqual({ form: 'malformed' });
    const noKid = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(classifyPresented(noKid)).toEqual({ form: 'malformed' });
    const oddKid = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: '../../etc' }).sign(key);
    expect(classifyPresented(oddKid)).toEqual({ form: 'malformed' });
  });

  it('three dotted parts that are not a JOSE header stay a secret', () => {
    expect(classifyPresented('abc.def.ghi-jkl')).toEqual({ form: 'secret', secret: 'abc.def.ghi-jkl' });
  });
});
