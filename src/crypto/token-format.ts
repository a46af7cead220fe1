import { crc32 } from 'node:zlib';
import { encodeBase62, isBase62, randomBase62 } from './base62';

/**
 * Generated credentials look like `klt_<30 base62 chars><6 base62 chars>`:
 * 30 random characters carry log2(62^30) ≈ 178 bits, and the last six are the CRC32 of
 * everything before them (prefix included), so a scanner or the gateway can reject
 * mistyped or made-up strings without a storage lookup.
 */
export const TOKEN_RANDOM_LENGTH = 30;
export const TOKEN_CHECKSUM_LENGTH = 6;
/** Characters of the random part shown in a token's display form. */
export const DISPLAY_LENGTH = 4;

const PREFIX_PATTERN = /^[a-z][a-z0-9]{1,9}$/;

export interface ParsedToken {
  prefix: string;
  random: string;
  checksum: string;
}

function checksumOf(body: string): string {
  return encodeBase62(crc32(body) >>> 0, TOKEN_CHECKSUM_LENGTH);
}

export function generateToken(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) throw new RangeError(`Invalid token prefix ${JSON.stringify(prefix)}`);
  const body = `${prefix}_${randomBase62(TOKEN_RANDOM_LENGTH)}`;
  return body + checksumOf(body);
}

/** Parses a string in the generated format and checks its checksum; `null` when it is not one. */
export function parseToken(value: string): ParsedToken | null {
  const expectedLength = TOKEN_RANDOM_LENGTH + TOKEN_CHECKSUM_LENGTH;
  const underscore = value.indexOf('_');
  if (underscore < 2 || underscore > 10 || value.length !== underscore + 1 + expectedLength) return null;
  const prefix = value.slice(0, underscore);
  const rest = value.slice(underscore + 1);
  if (!PREFIX_PATTERN.test(prefix) || !isBase62(rest)) return null;
  const random = rest.slice(0, TOKEN_RANDOM_LENGTH);
  const checksum = rest.slice(TOKEN_RANDOM_LENGTH);
  if (checksumOf(`${prefix}_${random}`) !== checksum) return null;
  return { prefix, random, checksum };
}

/** The only part of a credential ever shown after issue: its prefix and first four characters. */
export function displayOf(prefix: string, secret: string): string {
  const start = secret.startsWith(`${prefix}_`) ? prefix.length + 1 : 0;
  return `${prefix}_${secret.slice(start, start + DISPLAY_LENGTH)}`;
}
