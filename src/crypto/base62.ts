import { randomFillSync } from 'node:crypto';

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BASE62_PATTERN = /^[0-9A-Za-z]*$/;

export function isBase62(value: string): boolean {
  return BASE62_PATTERN.test(value);
}

/*
 * Random bytes are drawn from the CSPRNG a pool at a time: each call of `randomBytes` costs
 * several microseconds however few bytes it returns (an issue draws a token id and a secret),
 * against well under one for a pool read. Every byte is used once and zeroed as it is taken,
 * so the characters of a secret already handed out are not left in the pool.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * `length` uniformly random base62 characters. Bytes ≥ 248 are rejected rather than reduced
 * modulo 62, which would bias the first eight characters of the alphabet.
 */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    if (poolOffset === POOL_BYTES) {
      randomFillSync(pool);
      poolOffset = 0;
    }
    const byte = pool[poolOffset]!;
    pool[poolOffset++] = 0;
    if (byte >= 248) continue;
    out += BASE62_ALPHABET[byte % 62];
  }
  return out;
}

/** Fixed-width base62 encoding of a non-negative integer (left-padded with '0'). */
export function encodeBase62(value: number, width: number): string {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('base62 encodes non-negative safe integers only');
  let out = '';
  let rest = value;
  do {
    out = BASE62_ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  } while (rest > 0);
  if (out.length > width) throw new RangeError(`${value} does not fit in ${width} base62 characters`);
  return out.padStart(width, '0');
}
