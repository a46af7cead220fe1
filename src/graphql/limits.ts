/**
 * Request limits shared by both transports (HTTP POST and WebSocket), so that a check on
 * one cannot be sidestepped through the other.
 */

/**
 * Deepest selection an operation may make. keyledger's deepest real query
 * (`tokens { edges { node { ... } } }`) needs four levels; the margin leaves room for
 * growth while cutting off the deeply nested queries that multiply resolver work.
 */
export const MAX_QUERY_DEPTH = 10;

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** Bytes in a body limit as configured (`KEYLEDGER_BODY_LIMIT`: `256kb`, `1mb`, `4096`), in express's 1024-based units. */
export function byteLimit(limit: string): number {
  const match = /^(\d+)(b|kb|mb)?$/i.exec(limit.trim());
  if (!match) throw new RangeError(`Not a size: ${JSON.stringify(limit)}`);
  return Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()];
}
