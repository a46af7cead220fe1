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

/** The limits an operation's document must keep to (`KEYLEDGER_MAX_QUERY_*`). */
export interface QueryLimits {
  /** Highest cost an operation may have, as priced by `operationCost`. */
  maxComplexity: number;
  /** Most lexical tokens a document may hold; the parser stops at the next one. */
  maxTokens: number;
}

/**
 * What the fields that do more than read a row cost, on top of their selections. Every
 * other field costs 1; a list field taking `first` costs its selection once per item.
 */
export const FIELD_COSTS = {
  /** Each mutation appends to the event log, and most hash or seal a secret. */
  mutation: 100,
  /** An argon2id check of a presented secret. */
  secretCheck: 100,
  /** A JWT signature check. */
  signatureCheck: 10,
  /** Recomputing a tenant's whole audit hash chain. */
  chainRecompute: 1000,
} as const;

/**
 * Field extension marking a query field whose work grows with stored data (a whole chain, an
 * export): each call costs the caller's credential a point of its expensive-query budget.
 */
export const EXPENSIVE_QUERY = 'expensiveQuery';

/** Field extension marking a root field an operation may select at most once (aliases and fragments included). */
export const ONCE_PER_OPERATION = 'oncePerOperation';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 * 1024 };

/** Bytes in a body limit as configured (`KEYLEDGER_BODY_LIMIT`: `256kb`, `1mb`, `4096`), in express's 1024-based units. */
export function byteLimit(limit: string): number {
  const match = /^(\d+)(b|kb|mb)?$/i.exec(limit.trim());
  if (!match) throw new RangeError(`Not a size: ${JSON.stringify(limit)}`);
  return Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()];
}
