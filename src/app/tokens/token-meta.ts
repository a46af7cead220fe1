import { badInput } from '../../domain/errors';
import { parseToken, TOKEN_CHECKSUM_LENGTH, TOKEN_RANDOM_LENGTH } from '../../crypto/token-format';

const BODY_LENGTH = TOKEN_RANDOM_LENGTH + TOKEN_CHECKSUM_LENGTH;
/** Where the body of a generated credential may start: after a `_`, before enough base62. */
const BODY_START = new RegExp(`_(?=[0-9A-Za-z]{${BODY_LENGTH}})`, 'g');

/** Whether a credential keyledger generates sits anywhere in the string, whatever is glued to it. */
function holdsGeneratedCredential(value: string): boolean {
  for (const match of value.matchAll(BODY_START)) {
    const underscore = match.index;
    const body = value.slice(underscore + 1, underscore + 1 + BODY_LENGTH);
    // Prefixes are 2-10 characters; try each length, since letters may precede the prefix.
    for (let length = 2; length <= 10 && length <= underscore; length++) {
      if (parseToken(`${value.slice(underscore - length, underscore)}_${body}`)) return true;
    }
  }
  return false;
}

/**
 * `meta` holds no secrets by contract, since it is returned to every caller that verifies the
 * token; the one kind keyledger can recognise for certain, its own credentials (their
 * checksum says so), is refused outright, in keys as in values.
 */
export function refuseCredentialsInMeta(meta: unknown, field = 'meta'): void {
  if (meta === null || meta === undefined) return;
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (holdsGeneratedCredential(value)) throw badInput(`${field} must not hold a credential: it is returned to everyone who verifies the token`, field);
    } else if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        visit(key);
        visit(item);
      }
    }
  };
  visit(meta);
}
