import { BASE62_ALPHABET, encodeBase62, isBase62, randomBase62 } from '../../../src/crypto/base62';
import {
  DISPLAY_LENGTH,
  TOKEN_CHECKSUM_LENGTH,
  TOKEN_RANDOM_LENGTH,
  displayOf,
  generateToken,
  parseToken,
} from '../../../src/crypto/token-format';

const TOKEN_PATTERN = /^klt_[0-9A-Za-z]{36}$/;

/**
 * Minted with CRC32 computed outside this code base. Tokens already handed out must keep
 * parsing, so the checksum algorithm and its encoding may never change.
 */
const KNOWN_TOKEN = 'klt_0123456789ABCDEFGHIJKLMNOPQRST1zoHAZ';

function decodeBase62(value: string): number {
  return [...value].reduce((acc, char) => acc * 62 + BASE62_ALPHABET.indexOf(char), 0);
}

describe('base62 alphabet', () => {
  it('is the 62 ASCII digits and letters in ascending order', () => {
    expect(BASE62_ALPHABET).toHaveLength(62);
    expect(new Set(BASE62_ALPHABET).size).toBe(62);
    expect([...BASE62_ALPHABET].sort().join('')).toBe(BASE62_ALPHABET);
    expect(isBase62(BASE62_ALPHABET)).toBe(true);
  });

  it.each(['-', '_', '+', '/', '=', ' ', 'é', '\n'])('isBase62 rejects %j', (char) => {
    expect(isBase62(`abc${char}`)).toBe(false);
  });
});

describe('encodeBase62', () => {
  it.each<[number, number, string]>([
    [0, 6, '000000'],
    [1, 1, '1'],
    [61, 1, 'z'],
    [62, 2, '10'],
    [62, 4, '0010'],
    [3843, 2, 'zz'],
    [0xffffffff, 6, '4gfFC3'],
  ])('encodes %d in width %d as %s', (value, width, expected) => {
    expect(encodeBase62(value, width)).toBe(expected);
  });

  it('round-trips through an independent decoder', () => {
    for (const value of [0, 7, 61, 62, 1000, 123456789, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]) {
      expect(decodeBase62(encodeBase62(value, 12))).toBe(value);
    }
  });

  it('throws when the value does not fit the width', () => {
    expect(() => encodeBase62(62, 1)).toThrow(RangeError);
    expect(() => encodeBase62(62 ** 6, 6)).toThrow(/does not fit in 6 base62 characters/);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('throws for %p', (value) => {
    expect(() => encodeBase62(value, 12)).toThrow(/non-negative safe integers only/);
  });

  it('a CRC32 always fits the checksum width', () => {
    expect(encodeBase62(0xffffffff, TOKEN_CHECKSUM_LENGTH)).toHaveLength(TOKEN_CHECKSUM_LENGTH);
  });
});

describe('randomBase62', () => {
  it.each([0, 1, 30, 257])('returns exactly %d base62 characters', (length) => {
    const value = randomBase62(length);
    expect(value).toHaveLength(length);
    expect(isBase62(value)).toBe(true);
  });

  it('is roughly uniform over the alphabet, without modulo bias towards its start', () => {
    const sample = randomBase62(62_000);
    const counts = new Map<string, number>();
    for (const char of sample) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Each count is ~Binomial(62000, 1/62): mean 1000, sd ~31, so these bands are ~8 sd wide.
    for (const char of BASE62_ALPHABET) {
      expect(counts.get(char)).toBeGreaterThan(750);
      expect(counts.get(char)).toBeLessThan(1250);
    }
    // A plain `byte % 62` would give the first eight symbols ~9690 hits together instead of ~8000 (sd ~83).
    const firstEight = [...BASE62_ALPHABET.slice(0, 8)].reduce((sum, char) => sum + counts.get(char)!, 0);
    expect(firstEight).toBeGreaterThan(7400);
    expect(firstEight).toBeLessThan(8600);
  });

  it('draws fresh characters across many calls, past every refill of its random pool', () => {
    // 5,000 ids of 22 characters take about 28 pools of 4,096 bytes.
    const ids = Array.from({ length: 5_000 }, () => randomBase62(22));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => isBase62(id) && !/^0+$/.test(id))).toBe(true);
  });
});

describe('generateToken', () => {
  it('has the documented shape and at least 160 random bits', () => {
    const token = generateToken('klt');
    expect(token).toMatch(TOKEN_PATTERN);
    expect(TOKEN_RANDOM_LENGTH * Math.log2(62)).toBeGreaterThanOrEqual(160);
  });

  it('ends with the base62 CRC32 of everything before the checksum', () => {
    const token = generateToken('klt');
    const parsed = parseToken(token)!;
    expect(parsed.prefix).toBe('klt');
    expect(`klt_${parsed.random}${parsed.checksum}`).toBe(token);
    expect(parsed.random).toHaveLength(TOKEN_RANDOM_LENGTH);
    expect(parsed.checksum).toHaveLength(TOKEN_CHECKSUM_LENGTH);
  });

  it('produces 1000 distinct tokens that all parse', () => {
    const tokens = Array.from({ length: 1000 }, () => generateToken('klt'));
    expect(new Set(tokens).size).toBe(1000);
    for (const token of tokens) {
      expect(token).toMatch(TOKEN_PATTERN);
      expect(parseToken(token)).not.toBeNull();
    }
  });

  it('works with other valid prefixes', () => {
    for (const prefix of ['ab', 'kli', 'k1', 'abcdefghij']) {
      const token = generateToken(prefix);
      expect(token.startsWith(`${prefix}_`)).toBe(true);
      expect(parseToken(token)?.prefix).toBe(prefix);
    }
  });

  it.each(['', 'k', 'KLT', '1lt', 'k_t', 'abcdefghijk', 'kl-t', 'klé'])('refuses prefix %j', (prefix) => {
    expect(() => generateToken(prefix)).toThrow(RangeError);
  });
});

describe('parseToken', () => {
  it('accepts a token minted elsewhere with the same algorithm', () => {
    expect(parseToken(KNOWN_TOKEN)).toEqual({ prefix: 'klt', random: '0123456789ABCDEFGHIJKLMNOPQRST', checksum: '1zoHAZ' });
  });

  it('rejects every single-character substitution at every position', () => {
    const token = generateToken('klt');
    const candidates = `${BASE62_ALPHABET}_-.=+/ `;
    let tried = 0;
    for (let position = 0; position < token.length; position++) {
      for (const replacement of candidates) {
        if (replacement === token[position]) continue;
        const mutated = token.slice(0, position) + replacement + token.slice(position + 1);
        tried++;
        if (parseToken(mutated) !== null) throw new Error(`accepted ${mutated} (position ${position})`);
      }
    }
    expect(tried).toBeGreaterThan(token.length * 60);
  });

  it('rejects a swap of two adjacent different characters in the random part', () => {
    const random = '0123456789ABCDEFGHIJKLMNOPQRST';
    for (let i = 0; i < random.length - 1; i++) {
      const swapped = random.slice(0, i) + random[i + 1] + random[i] + random.slice(i + 2);
      expect(parseToken(`klt_${swapped}1zoHAZ`)).toBeNull();
    }
  });

  it('rejects wrong lengths', () => {
    expect(parseToken(KNOWN_TOKEN.slice(0, -1))).toBeNull();
    expect(parseToken(`${KNOWN_TOKEN}0`)).toBeNull();
    expect(parseToken(KNOWN_TOKEN.replace('klt_0', 'klt_'))).toBeNull();
    expect(parseToken('')).toBeNull();
    expect(parseToken('klt_')).toBeNull();
    expect(parseToken(`klt_${'a'.repeat(10_000)}`)).toBeNull();
  });

  it.each([
    ['uppercase prefix', 'KLT_'],
    ['one-letter prefix', 'k_'],
    ['digit-first prefix', '1lt_'],
    ['prefix over ten characters', 'abcdefghijk_'],
    ['no separator', 'klt'],
    ['dash separator', 'klt-'],
  ])('rejects a %s', (_label, head) => {
    expect(parseToken(KNOWN_TOKEN.replace('klt_', head))).toBeNull();
  });

  it.each(['-', '+', '/', '=', ' ', '\u00e9', '\u0000'])('rejects non-base62 %j in the body', (char) => {
    expect(parseToken(`${KNOWN_TOKEN.slice(0, 10)}${char}${KNOWN_TOKEN.slice(11)}`)).toBeNull();
  });

  it('rejects surrounding whitespace', () => {
    expect(parseToken(` ${KNOWN_TOKEN}`)).toBeNull();
    expect(parseToken(`${KNOWN_TOKEN}\n`)).toBeNull();
  });

  it('rejects a correct checksum moved to a different prefix', () => {
    expect(parseToken(KNOWN_TOKEN.replace('klt_', 'kla_'))).toBeNull();
  });
});

describe('displayOf', () => {
  it('is the prefix and the first four characters after it', () => {
    expect(displayOf('klt', KNOWN_TOKEN)).toBe('klt_0123');
    expect(DISPLAY_LENGTH).toBe(4);
  });

  it('matches the first eight characters of a generated klt token', () => {
    const token = generateToken('klt');
    expect(displayOf('klt', token)).toBe(token.slice(0, 8));
  });

  it('for a secret without the prefix, shows the prefix and the secret\'s first four characters', () => {
    expect(displayOf('klt', 'my-imported-secret')).toBe('klt_my-i');
    expect(displayOf('kli', 'klt_abcdef')).toBe('kli_klt_');
  });
});
