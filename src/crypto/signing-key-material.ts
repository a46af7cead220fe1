import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { PublicJwk, SigningAlgorithm, SigningKeyMaterial, WrappedPrivateKey } from '../domain/signing-keys/events';
import { unwrapKey, wrapKey } from './key-wrap';

export const WRAP_SCHEME = 'A256GCM/keyledger-signing-key-wrapping-v1';

const wrapContext = (kid: string) => `keyledger/signing-key/v1:${kid}`;

/**
 * A fresh signing key, its private part wrapped for the event log. The kid is the key's
 * RFC 7638 thumbprint, so it is derived from the key rather than chosen, and two replicas
 * racing to create the first key cannot produce the same kid for different keys.
 */
export async function generateSigningKey(wrappingKey: Buffer, alg: SigningAlgorithm = 'ES256'): Promise<SigningKeyMaterial> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const exported = publicKey.export({ format: 'jwk' });
  const publicJwk: PublicJwk = { kty: exported.kty!, crv: exported.crv, x: exported.x, y: exported.y };
  const kid = await calculateJwkThumbprint({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, y: publicJwk.y }, 'sha256');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  try {
    const parts = wrapKey(wrappingKey, der, wrapContext(kid));
    const wrappedPrivateKey: WrappedPrivateKey = {
      scheme: WRAP_SCHEME,
      iv: parts.iv.toString('base64url'),
      ciphertext: parts.ciphertext.toString('base64url'),
      tag: parts.tag.toString('base64url'),
    };
    return { kid, alg, publicJwk, wrappedPrivateKey };
  } finally {
    der.fill(0);
  }
}

/** Opens a wrapped private key; throws when it was wrapped under another master key. */
export function unwrapSigningKey(wrappingKey: Buffer, kid: string, wrapped: WrappedPrivateKey): KeyObject {
  if (wrapped.scheme !== WRAP_SCHEME) throw new Error(`Signing key ${kid} uses an unknown wrapping scheme ${wrapped.scheme}`);
  const der = unwrapKey(
    wrappingKey,
    {
      iv: Buffer.from(wrapped.iv, 'base64url'),
      ciphertext: Buffer.from(wrapped.ciphertext, 'base64url'),
      tag: Buffer.from(wrapped.tag, 'base64url'),
    },
    wrapContext(kid),
  );
  if (!der) {
    throw new Error(`Signing key ${kid} cannot be unwrapped: is KEYLEDGER_MASTER_KEY the one the key was created with?`);
  }
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}
