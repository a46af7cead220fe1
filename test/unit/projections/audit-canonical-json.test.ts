import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, chainHash, GENESIS_HASH } from '../../../projections/audit';

/** The canonical form as defined: a copy with every object's keys sorted, through JSON.stringify. */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) copy[key] = sortedCopy((value as Record<string, unknown>)[key]);
    return copy;
  }
  return value;
}

describe('canonical audit JSON', () => {
  it('is JSON.stringify of the key-sorted copy, for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
      }),
      { numRuns: 2000 },
    );
  });

  it('lists array-index keys first, in numeric order, as JSON.stringify does', () => {
    const value = { b: 1, 10: 'ten', a: 2, 2: 'two', '02': 'not an index', 4294967295: 'not an index either' };
    expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
    expect(canonicalJson(value)).toBe('{"2":"two","10":"ten","02":"not an index","4294967295":"not an index either","a":2,"b":1}');
  });

  it('leaves out undefined members, writes them as null in arrays, and keeps __proto__ as a key', () => {
    const value = JSON.parse('{"b":[1,null,"x"],"__proto__":{"z":1,"a":"é\\u2028"},"a":{"d":-0,"c":1e21}}') as Record<string, unknown>;
    (value.a as Record<string, unknown>).u = undefined;
    (value.b as unknown[]).push(undefined);
    expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
    expect(canonicalJson(value)).toBe('{"__proto__":{"a":"é\u2028","z":1},"a":{"c":1e+21,"d":0},"b":[1,null,"x",null]}');
  });

  it('chains SHA-256 over the previous hash and the entry text, in UTF-8', () => {
    const entry = canonicalJson({ name: 'ünïcode ✓', n: 1 });
    expect(chainHash(GENESIS_HASH, entry)).toBe(createHash('sha256').update(GENESIS_HASH).update(entry, 'utf8').digest('hex'));
  });
});
