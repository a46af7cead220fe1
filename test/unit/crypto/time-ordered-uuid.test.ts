import { timeOrderedUuid } from '../../../src/crypto/time-ordered-uuid';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('timeOrderedUuid', () => {
  it('is a version 7 UUID whose first 48 bits are the given Unix time in milliseconds', () => {
    const at = Date.parse('2026-12-03T09:00:00.123Z');
    const id = timeOrderedUuid(at);
    expect(id).toMatch(V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
    expect(timeOrderedUuid(0).startsWith('00000000-0000-7')).toBe(true);
  });

  it('sorts by time, as text, across milliseconds', () => {
    const start = Date.parse('2026-12-03T09:00:00Z');
    const ids = Array.from({ length: 2000 }, (_, i) => timeOrderedUuid(start + i * 7));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps 74 random bits: ids of one millisecond are all distinct and spread', () => {
    const at = Date.now();
    const ids = Array.from({ length: 20_000 }, () => timeOrderedUuid(at));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(V7);
    // The random part's first hex digit (after the version) takes all 16 values.
    expect(new Set(ids.map((id) => id[15])).size).toBe(16);
  });
});
