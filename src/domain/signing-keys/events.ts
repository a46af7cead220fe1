/**
 * Signing-key events. The private key appears only wrapped (AES-256-GCM under a key derived
 * from the master key), so the log can be copied, backed up or replayed without exposing it,
 * and every replica that shares the master key signs with the same key.
 */

/** The algorithms a signing key may use; verification accepts exactly these (RFC 8725 §3.1). */
export const SigningAlgorithms = ['ES256'] as const;
export type SigningAlgorithm = (typeof SigningAlgorithms)[number];

/** A public key as published in the JWKS (RFC 7517), without private members. */
export interface PublicJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  [member: string]: unknown;
}

/** A private key in PKCS#8 DER, encrypted with AES-256-GCM; the kid is the additional data. */
export interface WrappedPrivateKey {
  /** Names the wrapping scheme and the derived key, so a later scheme can coexist. */
  scheme: string;
  /** base64url */
  iv: string;
  /** base64url */
  ciphertext: string;
  /** base64url */
  tag: string;
}

export interface SigningKeyMaterial {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: PublicJwk;
  wrappedPrivateKey: WrappedPrivateKey;
}

export interface SigningKeyGenerated {
  type: 'SigningKeyGenerated';
  data: SigningKeyMaterial & { generatedAt: string };
}

export interface SigningKeyRotated {
  type: 'SigningKeyRotated';
  data: SigningKeyMaterial & {
    rotatedAt: string;
    previousKid: string;
    /** Until when the previous key stays published: the last token it signed expires by then. */
    previousPublishedUntil: string;
  };
}

export type SigningKeyEvent = SigningKeyGenerated | SigningKeyRotated;
export const SIGNING_KEY_EVENT_TYPES: readonly SigningKeyEvent['type'][] = ['SigningKeyGenerated', 'SigningKeyRotated'];

/**
 * One stream for the whole deployment: appending the first key with expected revision
 * `no_stream` makes processes that start at once on an empty log agree on a single key.
 */
export const SIGNING_KEYS_STREAM = 'signing-keys';
