import { randomBytes, sign, verify, createPublicKey } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { unwrapKey, wrapKey } from '../../../src/crypto/key-wrap';
import { generateSigningKey, unwrapSigningKey, WRAP_SCHEME } from '../../../src/crypto/signing-key-material';

const WRAPPING_KEY = randomBytes(32);

describe('key wrapping (AES-256-GCM)', () => {
  it('opens what it wrapped, under the same key and context', () => {
    const plaintext = randomBytes(48);
    const wrapped = wrapKey(WRAPPING_KEY, plaintext, 'ctx:a');
    expect(unwrapKey(WRAPPING_KEY, wrapped, 'ctx:a')).toEqual(plaintext);
    expect(wrapped.ciphertext.includes(plaintext)).toBe(false);
  });

  it('uses a fresh IV each time', () => {
    const plaintext = randomBytes(16);
    expect(wrapKey(WRAPPING_KEY, plaintext, 'c').iv.equals(wrapKey(WRAPPING_KEY, plaintext, 'c').iv)).toBe(false);
  });

  it('refuses another context, another key, or a changed byte', () => {
    const wrapped = wrapKey(WRAPPING_KEY, randomBytes(32), 'ctx:a');
    expect(unwrapKey(WRAPPING_KEY, wrapped, 'ctx:b')).toBeNull();
    expect(unwrapKey(randomBytes(32), wrapped, 'ctx:a')).toBeNull();
    const tampered = Buffer.from(wrapped.ciphertext);
    tampered[0] ^= 1;
    expect(unwrapKey(WRAPPING_KEY, { ...wrapped, ciphertext: tampered }, 'ctx:a')).toBeNull();
    expect(unwrapKey(WRAPPING_KEY, { ...wrapped, tag: wrapped.tag.subarray(0, 8) }, 'ctx:a')).toBeNull();
  });

  it('requires a 32-byte wrapping key', () => {
    expect(() => wrapKey(randomBytes(16), randomBytes(8), 'c')).toThrow(/32 bytes/);
  });
});

describe('signing key material', () => {
  it('is an ES256 key whose kid is its RFC 7638 thumbprint, with only public members published', async () => {
    const key = await generateSigningKey(WRAPPING_KEY);
    expect(key.alg).toBe('ES256');
    expect(Object.keys(key.publicJwk).sort()).toEqual(['crv', 'kty', 'x', 'y']);
    expect(key.kid).toBe(await calculateJwkThumbprint(key.publicJwk as never, 'sha256'));
    expect(key.wrappedPrivateKey.scheme).toBe(WRAP_SCHEME);
  });

  it('unwraps to the private key that matches the published public key', async () => {
    const key = await generateSigningKey(WRAPPING_KEY);
    const privateKey = unwrapSigningKey(WRAPPING_KEY, key.kid, key.wrappedPrivateKey);
    const data = Buffer.from('chain head');
    const signature = sign('sha256', data, privateKey);
    expect(verify('sha256', data, createPublicKey({ key: key.publicJwk as never, format: 'jwk' }), signature)).toBe(true);
  });

  it('the wrapped form holds none of the private key bytes', async () => {
    const key = await generateSigningKey(WRAPPING_KEY);
    const d = unwrapSigningKey(WRAPPING_KEY, key.kid, key.wrappedPrivateKey).export({ format: 'jwk' }).d!;
    expect(JSON.stringify(key)).not.toContain(d);
    expect(Buffer.from(key.wrappedPrivateKey.ciphertext, 'base64url').includes(Buffer.from(d, 'base64url'))).toBe(false);
  });

  it('cannot be unwrapped under another master key or as another kid', async () => {
    const key = await generateSigningKey(WRAPPING_KEY);
    expect(() => unwrapSigningKey(randomBytes(32), key.kid, key.wrappedPrivateKey)).toThrow(/KEYLEDGER_MASTER_KEY/);
    const other = await generateSigningKey(WRAPPING_KEY);
    expect(() => unwrapSigningKey(WRAPPING_KEY, other.kid, key.wrappedPrivateKey)).toThrow(/cannot be unwrapped/);
  });

  it('two generations give two different keys and kids', async () => {
    const [a, b] = await Promise.all([generateSigningKey(WRAPPING_KEY), generateSigningKey(WRAPPING_KEY)]);
    expect(a.kid).not.toBe(b.kid);
  });
});
