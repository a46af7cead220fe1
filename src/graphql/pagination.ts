import { badInput } from '../domain/errors';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 0 and ${MAX_PAGE_SIZE}`, 'first');
  }
  return first;
}

/** Cursors are opaque to clients: a kind tag and a sequence number, base64url-encoded. */
export function encodeCursor(kind: string, seq: number): string {
  return Buffer.from(`${kind}:${seq}`).toString('base64url');
}

export function decodeCursor(kind: string, cursor: string | null | undefined): number | null {
  if (cursor == null) return null;
  const match = cursor.length <= 64 ? /^([a-z]+):(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString()) : null;
  if (!match || match[1] !== kind) throw badInput('after is not a cursor returned by this list', 'after');
  return Number(match[2]);
}
