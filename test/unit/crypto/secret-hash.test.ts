import { createHmac } from 'node:crypto';
import { ARGON2_OPTIONS, HMAC_PREFIX, SecretHasher, isArgon2Hash } from '../../../src/crypto/secret-hash';

const PEPPER = Buffer.alloc(32, 1);
const OTHER_PEPPER = Buffer.alloc(32, 2);
const SECRET = 'klt_example';

describe('SecretHasher.lookupHash', () => {
  const hasher = new SecretHasher(PEPPER);

  it('is hmac-sha256$ followed by 64 hex characters', () => {
    expect(hasher.lookupHash(SECRET)).toMatch(/^hmac-sha256\$[0-9a-f]{64}$/);
    expect(HMAC_PREFIX).toBe('hmac-sha256$');
  });

  // Stored hashes in the event log must stay verifiable, so the derivation is pinned.
  it('matches the pinned value for a known pepper and secret', () => {
    expect(hasher.lookupHash(SECRET)).toBe('hmac-sha256$72cc15480d8f28d93bc07a09acea2de52b0bda4c3a0417ac32f5c56937d9065b');
  });

  it('is deterministic for one pepper, including across instances', () => {
    expect(hasher.lookupHash(SECRET)).toBe(hasher.lookupHash(SECRET));
    expect(new SecretHasher(Buffer.from(PEPPER)).lookupHash(SECRET)).toBe(hasher.lookupHash(SECRET));
  });

  it('differs across peppers', () => {
    expect(new SecretHasher(OTHER_PEPPER).lookupHash(SECRET)).not.toBe(hasher.lookupHash(SECRET));
  });

  it('differs across secrets, even ones differing in one character', () => {
    expect(hasher.lookupHash('klt_examplf')).not.toBe(hasher.lookupHash(SECRET));
    expect(hasher.lookupHash('')).not.toBe(hasher.lookupHash(' '));
  });

  it('is not a plain SHA-256-HMAC of the secret, so a hash from another purpose cannot be replayed', () => {
    const plain = createHmac('sha256', PEPPER).update(SECRET).digest('hex');
    expect(hasher.lookupHash(SECRET)).not.toContain(plain);
  });

  it('does not contain the secret', () => {
    const secret = 'abcdef0123456789abcdef';
    expect(hasher.lookupHash(secret)).not.toContain(secret);
    expect(hasher.lookupHash(secret)).not.toContain(Buffer.from(secret).toString('hex'));
  });
});

describe('SecretHasher.lookupTag', () => {
  const hasher = new SecretHasher(PEPPER);

  it('is 6 lowercase hex characters, pinned for a known pepper and secret', () => {
    expect(hasher.lookupTag(SECRET)).toMatch(/^[0-9a-f]{6}$/);
    expect(hasher.lookupTag(SECRET)).toBe('b9a6a5');
  });

  it('is deterministic per pepper and differs across peppers', () => {
    expect(hasher.lookupTag(SECRET)).toBe(hasher.lookupTag(SECRET));
    expect(new SecretHasher(OTHER_PEPPER).lookupTag(SECRET)).not.toBe(hasher.lookupTag(SECRET));
  });

  it('is not a slice of the lookup hash, so a tag reveals nothing about the index key', () => {
    const hash = hasher.lookupHash(SECRET).slice(HMAC_PREFIX.length);
    expect(hash.startsWith(hasher.lookupTag(SECRET))).toBe(false);
  });
});

describe('SecretHasher argon2id', () => {
  const hasher = new SecretHasher(PEPPER);
  const chosen = 'correct horse battery staple';
  let stored: string;

  beforeAll(async () => {
    stored = await hasher.argon2Hash(chosen);
  });

  it('uses the OWASP parameters and names its algorithm', () => {
    const match = /^\$argon2id\$v=19\$([a-z]=\d+,[a-z]=\d+,[a-z]=\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(stored);
    expect(match).not.toBeNull();
    const params = Object.fromEntries(match![1].split(',').map((pair) => pair.split('=')));
    expect(params).toEqual({ m: '19456', t: '2', p: '1' });
    expect(ARGON2_OPTIONS).toMatchObject({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    expect(isArgon2Hash(stored)).toBe(true);
    expect(stored).not.toContain(chosen);
  });

  // The PHC argon2 encoding fixes the order m,t,p, and libargon2-based verifiers (argon2-cffi,
  // PHP, libsodium) refuse any other; argon2 0.45 writes m,p,t (ranisalt/node-argon2#559), so
  // stored hashes cannot be migrated to another stack as they are.
  it('writes the parameters in the canonical PHC order m,t,p', () => {
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('verifies the right secret only', async () => {
    await expect(hasher.argon2Verify(stored, chosen)).resolves.toBe(true);
    await expect(hasher.argon2Verify(stored, `${chosen} `)).resolves.toBe(false);
    await expect(hasher.argon2Verify(stored, '')).resolves.toBe(false);
  });

  it('salts each hash, so equal secrets give different strings that both verify', async () => {
    const again = await hasher.argon2Hash(chosen);
    expect(again).not.toBe(stored);
    await expect(hasher.argon2Verify(again, chosen)).resolves.toBe(true);
  });

  it.each(['', 'garbage', '$argon2id$', '$argon2id$v=19$m=19456,t=2,p=1$###$###', 'hmac-sha256$00ff'])(
    'argon2Verify returns false for stored value %j instead of throwing',
    async (garbage) => {
      await expect(hasher.argon2Verify(garbage, chosen)).resolves.toBe(false);
    },
  );
});

describe('isArgon2Hash and sameHash', () => {
  it('tells the two stored forms apart', () => {
    expect(isArgon2Hash('hmac-sha256$00')).toBe(false);
    expect(isArgon2Hash('$argon2i$v=19$m=19456,t=2,p=1$a$b')).toBe(false);
    expect(isArgon2Hash('$argon2id$v=19$m=19456,t=2,p=1$a$b')).toBe(true);
  });

  it('compares stored hashes exactly, including different lengths', () => {
    const hash = new SecretHasher(PEPPER).lookupHash(SECRET);
    expect(SecretHasher.sameHash(hash, `${hash}`)).toBe(true);
    expect(SecretHasher.sameHash(hash, `${hash.slice(0, -1)}0`)).toBe(hash.endsWith('0'));
    expect(SecretHasher.sameHash(hash, hash.slice(0, -1))).toBe(false);
    expect(SecretHasher.sameHash('', '')).toBe(true);
  });
});
