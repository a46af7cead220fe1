import { KeyledgerError } from '../../../src/domain/errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decodeCursor, encodeCursor, pageSize } from '../../../src/graphql/pagination';

function expectBadInput(fn: () => unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(KeyledgerError);
  expect((caught as KeyledgerError).code).toBe('BAD_USER_INPUT');
  expect((caught as KeyledgerError).details).toEqual({ field });
  expect((caught as KeyledgerError).message).toMatch(message);
}

describe('cursors', () => {
  it.each([0, 1, 42, 1_000_000, 999_999_999_999_999])('round-trips sequence %d', (seq) => {
    expect(decodeCursor('token', encodeCursor('token', seq))).toBe(seq);
  });

  it('is opaque base64url: no padding, no characters that need escaping in a URL', () => {
    for (const seq of [0, 7, 123456789]) {
      expect(encodeCursor('token', seq)).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it('gives distinct cursors for distinct positions and lists', () => {
    expect(encodeCursor('token', 1)).not.toBe(encodeCursor('token', 10));
    expect(encodeCursor('token', 1)).not.toBe(encodeCursor('audit', 1));
  });

  it('decodes a missing cursor as the start of the list', () => {
    expect(decodeCursor('token', null)).toBeNull();
    expect(decodeCursor('token', undefined)).toBeNull();
  });

  it('refuses a cursor from another list', () => {
    expectBadInput(() => decodeCursor('token', encodeCursor('audit', 5)), 'after', /^after is not a cursor returned by this list$/);
    expectBadInput(() => decodeCursor('audit', encodeCursor('token', 5)), 'after', /not a cursor/);
  });

  it('refuses a cursor whose kind only starts like this one', () => {
    expectBadInput(() => decodeCursor('token', encodeCursor('tokens', 5)), 'after', /not a cursor/);
    expectBadInput(() => decodeCursor('tokens', encodeCursor('token', 5)), 'after', /not a cursor/);
  });

  it.each([
    ['empty', ''],
    ['plain text', 'not a cursor'],
    ['a bare number', '42'],
    ['base64 of a bare number', Buffer.from('42').toString('base64url')],
    ['base64 without a sequence', Buffer.from('token:').toString('base64url')],
    ['a negative sequence', encodeCursor('token', -1)],
    ['a fractional sequence', encodeCursor('token', 1.5)],
    ['a 16-digit sequence', Buffer.from(`token:${'9'.repeat(16)}`).toString('base64url')],
    ['trailing data', Buffer.from('token:5:extra').toString('base64url')],
    ['a trailing newline', Buffer.from('token:5\n').toString('base64url')],
    ['SQL in the sequence', Buffer.from("token:5' OR 1=1").toString('base64url')],
  ])('refuses %s', (_label, cursor) => {
    expectBadInput(() => decodeCursor('token', cursor), 'after', /not a cursor/);
  });

  it('refuses a cursor longer than 64 characters without decoding it', () => {
    const overlong = encodeCursor('a'.repeat(60), 1);
    expect(overlong.length).toBeGreaterThan(64);
    expectBadInput(() => decodeCursor('a'.repeat(60), overlong), 'after', /not a cursor/);
    expectBadInput(() => decodeCursor('token', 'A'.repeat(1_000_000)), 'after', /not a cursor/);
  });

  it('accepts the largest sequence that fits, which is still a safe integer', () => {
    const cursor = encodeCursor('token', 999_999_999_999_999);
    expect(cursor.length).toBeLessThanOrEqual(64);
    expect(Number.isSafeInteger(decodeCursor('token', cursor))).toBe(true);
  });
});

describe('pageSize', () => {
  it('defaults when absent', () => {
    expect(DEFAULT_PAGE_SIZE).toBe(20);
    expect(pageSize(null)).toBe(20);
    expect(pageSize(undefined)).toBe(20);
  });

  it.each([0, 1, 20, 99, 100])('accepts %d', (first) => {
    expect(pageSize(first)).toBe(first);
  });

  it.each([-1, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e9])('refuses %p', (first) => {
    expectBadInput(() => pageSize(first), 'first', /^first must be between 0 and 100$/);
  });

  it('caps at 100', () => {
    expect(MAX_PAGE_SIZE).toBe(100);
  });
});
