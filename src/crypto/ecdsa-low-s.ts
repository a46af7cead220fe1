/**
 * ECDSA signatures are malleable: if (r, s) is valid, so is (r, n − s), so anyone holding one
 * signed token can make a second string that verifies with the same claims. keyledger signs
 * only with the low s (s ≤ n/2) and refuses the other, so each token has exactly one
 * encoding, and a token is the same string to every cache, log and deny-list.
 */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const P256_HALF_ORDER = P256_ORDER >> 1n;
/** ES256 signatures in JWS are r ‖ s, 32 bytes each (RFC 7518 §3.4). */
const ES256_SIGNATURE_LENGTH = 64;

function sOf(signature: Buffer): bigint {
  return BigInt(`0x${signature.subarray(ES256_SIGNATURE_LENGTH / 2).toString('hex')}`);
}

/** False for an ES256 compact JWS whose signature has a high s; anything else is for the verifier to judge. */
export function hasLowS(compactJws: string): boolean {
  const signature = Buffer.from(compactJws.slice(compactJws.lastIndexOf('.') + 1), 'base64url');
  return signature.length !== ES256_SIGNATURE_LENGTH || sOf(signature) <= P256_HALF_ORDER;
}

/** The same ES256 compact JWS with its signature's s made low, which verifies just as well. */
export function withLowS(compactJws: string): string {
  const dot = compactJws.lastIndexOf('.');
  const signature = Buffer.from(compactJws.slice(dot + 1), 'base64url');
  if (signature.length !== ES256_SIGNATURE_LENGTH) throw new Error('An ES256 signature is 64 bytes');
  const s = sOf(signature);
  if (s <= P256_HALF_ORDER) return compactJws;
  const low = Buffer.from((P256_ORDER - s).toString(16).padStart(64, '0'), 'hex');
  return `${compactJws.slice(0, dot + 1)}${Buffer.concat([signature.subarray(0, ES256_SIGNATURE_LENGTH / 2), low]).toString('base64url')}`;
}
