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

/** A page of read-model rows as a Relay connection's edges and page info (cursors carry each row's seq). */
export function toConnection<Row extends { seq: number }, Node>(
  kind: string,
  page: { records: readonly Row[]; hasNextPage: boolean },
  node: (row: Row) => Node,
): { edges: Array<{ cursor: string; node: Node }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } {
  const edges = page.records.map((row) => ({ cursor: encodeCursor(kind, row.seq), node: node(row) }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null } };
}
