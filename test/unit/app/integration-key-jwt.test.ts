import { SignJWT } from 'jose';
import { checkIntegrationKeyJwt } from '../../../src/app/credentials/integration-key-jwt';

const SECRET = 'kli_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
const NOW = new Date('2030-01-15T10:00:00.000Z');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function sign(claims: Record<string, unknown>, secret = SECRET) {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'tok_1' }).sign(new TextEncoder().encode(secret));
}

describe('checkIntegrationKeyJwt', () => {
  it('accepts a JWT signed with the secret, with or without exp', async () => {
    expect(await checkIntegrationKeyJwt(await sign({ scope: 'app' }), SECRET, NOW)).toBe('valid');
    expect(await checkIntegrationKeyJwt(await sign({ exp: seconds(NOW) + 60 }), SECRET, NOW)).toBe('valid');
  });

  it('a JWT signed with another secret has a bad signature', async () => {
    expect(await checkIntegrationKeyJwt(await sign({}, 'another-secret-another-secret'), SECRET, NOW)).toBe('bad-signature');
  });

  it('a tampered payload has a bad signature', async () => {
    const [header, , signature] = (await sign({ scope: 'app' })).split('.');
    const payload = Buffer.from(JSON.stringify({ scope: 'admin' })).toString('base64url');
    expect(await checkIntegrationKeyJwt(`${header}.${payload}.${signature}`, SECRET, NOW)).toBe('bad-signature');
  });

  it('exp is checked against the given clock, to the second and without leeway', async () => {
    const jwt = await sign({ exp: seconds(NOW) });
    expect(await checkIntegrationKeyJwt(jwt, SECRET, new Date(NOW.getTime() - 1000))).toBe('valid');
    expect(await checkIntegrationKeyJwt(jwt, SECRET, NOW)).toBe('expired');
  });

  it('an expired JWT with a bad signature is a bad signature, not expired', async () => {
    expect(await checkIntegrationKeyJwt(await sign({ exp: seconds(NOW) - 10 }, 'another-secret-another-secret'), SECRET, NOW)).toBe('bad-signature');
  });

  it('a JWT not valid yet (nbf) or with malformed claims is invalid', async () => {
    expect(await checkIntegrationKeyJwt(await sign({ nbf: seconds(NOW) + 60 }), SECRET, NOW)).toBe('invalid');
    expect(await checkIntegrationKeyJwt(await sign({ exp: 'tomorrow' }), SECRET, NOW)).toBe('invalid');
  });
});
