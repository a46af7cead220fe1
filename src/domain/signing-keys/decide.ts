import { badInput, conflict } from '../errors';
import { SigningAlgorithms, type SigningKeyEvent, type SigningKeyGenerated, type SigningKeyMaterial, type SigningKeyRotated } from './events';
import { activeKey, type SigningKeysState } from './state';

/**
 * Partner access tokens live 24 hours, so a retired key must stay published that long; the
 * extra minute covers verifiers whose clocks run slightly behind.
 */
export const RETIRED_KEY_PUBLISHED_FOR_MS = 24 * 60 * 60 * 1000 + 60 * 1000;

/** Create the first key. On a log that already has one, nothing happens: the existing key wins. */
export interface GenerateSigningKey {
  type: 'GenerateSigningKey';
  key: SigningKeyMaterial;
}

/** Replace the active key; the previous one stays published until its last token has expired. */
export interface RotateSigningKey {
  type: 'RotateSigningKey';
  key: SigningKeyMaterial;
}

export type SigningKeyCommand = GenerateSigningKey | RotateSigningKey;

export function decide(command: SigningKeyCommand, state: SigningKeysState, now: Date): SigningKeyEvent[] {
  requireMaterial(command.key);
  switch (command.type) {
    case 'GenerateSigningKey':
      return state.keys.length > 0 ? [] : [generated(command.key, now)];
    case 'RotateSigningKey':
      return [rotated(command.key, state, now)];
  }
}

function generated(key: SigningKeyMaterial, now: Date): SigningKeyGenerated {
  return { type: 'SigningKeyGenerated', data: { ...copy(key), generatedAt: now.toISOString() } };
}

function rotated(key: SigningKeyMaterial, state: SigningKeysState, now: Date): SigningKeyRotated {
  const previous = activeKey(state);
  if (!previous) throw conflict('There is no signing key to rotate yet; start the gateway once to create the first one');
  if (state.keys.some((existing) => existing.kid === key.kid)) throw conflict(`A signing key with kid ${key.kid} already exists`);
  return {
    type: 'SigningKeyRotated',
    data: {
      ...copy(key),
      rotatedAt: now.toISOString(),
      previousKid: previous.kid,
      previousPublishedUntil: new Date(now.getTime() + RETIRED_KEY_PUBLISHED_FOR_MS).toISOString(),
    },
  };
}

function requireMaterial(key: SigningKeyMaterial): void {
  if (!SigningAlgorithms.includes(key.alg)) throw badInput(`Unsupported signing algorithm ${String(key.alg)}`, 'alg');
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(key.kid)) throw badInput('A kid must be 16-128 base64url characters', 'kid');
  if ('d' in key.publicJwk) throw badInput('The published key must not hold private members', 'publicJwk');
}

/** Only the named fields reach the event, so nothing a caller adds to the command can slip in. */
function copy(key: SigningKeyMaterial): SigningKeyMaterial {
  const { kty, crv, x, y } = key.publicJwk;
  return {
    kid: key.kid,
    alg: key.alg,
    publicJwk: { kty, crv, x, y },
    wrappedPrivateKey: {
      scheme: key.wrappedPrivateKey.scheme,
      iv: key.wrappedPrivateKey.iv,
      ciphertext: key.wrappedPrivateKey.ciphertext,
      tag: key.wrappedPrivateKey.tag,
    },
  };
}
