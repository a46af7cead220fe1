import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCAN_PATTERNS } from '../../../src/app/leaks/token-patterns';
import { generateToken, parseToken } from '../../../src/crypto/token-format';

const doc = readFileSync(join(__dirname, '../../../docs/leaked-credentials.md'), 'utf8');

describe('the token patterns operators register with secret scanning', () => {
  it.each(SCAN_PATTERNS.map((pattern) => [pattern.kind, pattern] as const))('%s: the documented row is the one the code derives', (_kind, pattern) => {
    expect(doc).toContain(`| \`${pattern.kind}\` | \`${pattern.prefix}\` | \`${pattern.tokenType}\` | \`${pattern.regex}\` |`);
  });

  it.each(SCAN_PATTERNS.map((pattern) => [pattern.kind, pattern] as const))('%s: matches every generated token whole, in text, and nothing longer', (_kind, pattern) => {
    const regex = new RegExp(pattern.regex, 'g');
    for (let i = 0; i < 200; i++) {
      const token = generateToken(pattern.prefix);
      expect(`KEY=${token}\n`.match(regex)).toEqual([token]);
      expect(`"${token}x"`.match(regex)).toBeNull();
      expect(parseToken(token)?.prefix).toBe(pattern.prefix);
    }
  });

  it('every documented row names a pattern of the code', () => {
    const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| `(kl[a-z]+)` \|/gm)].map((match) => match[1]);
    expect(rows.sort()).toEqual(SCAN_PATTERNS.map((pattern) => pattern.kind).sort());
  });
});
