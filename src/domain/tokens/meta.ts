import { badInput } from '../errors';

/** Largest `meta` a token keeps, as UTF-8 JSON. */
export const MAX_META_BYTES = 16 * 1024;

export type TokenMeta = Record<string, unknown>;

/**
 * A token's `meta`: a JSON object of at most 16 KB, kept and returned as given and read by
 * nothing in keyledger (roles and every other decision come from the token's own fields).
 * The copy is made through JSON, so what is stored is exactly what will be returned.
 */
export function requireMeta(value: unknown, field = 'meta'): TokenMeta {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badInput(`${field} must be a JSON object`, field);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    throw badInput(`${field} must be a JSON object`, field);
  }
  if (Buffer.byteLength(json, 'utf8') > MAX_META_BYTES) throw badInput(`${field} must be at most 16 KB as JSON`, field);
  return JSON.parse(json) as TokenMeta;
}
