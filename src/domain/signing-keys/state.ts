import type { PublicJwk, SigningAlgorithm, SigningKeyEvent, WrappedPrivateKey } from './events';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  publicJwk: PublicJwk;
  wrappedPrivateKey: WrappedPrivateKey;
  createdAt: string;
  /** When a newer key replaced it; null for the active key. */
  retiredAt: string | null;
  /** Null while active; afterwards the instant it leaves the JWKS. */
  publishedUntil: string | null;
}

export interface SigningKeysState {
  /** Oldest first; the last one is the active key. */
  keys: SigningKey[];
}

export const initialSigningKeysState: SigningKeysState = { keys: [] };

export function evolve(state: SigningKeysState, event: SigningKeyEvent): SigningKeysState {
  switch (event.type) {
    case 'SigningKeyGenerated': {
      const { kid, alg, publicJwk, wrappedPrivateKey, generatedAt } = event.data;
      if (state.keys.length > 0) return state;
      return { keys: [{ kid, alg, publicJwk, wrappedPrivateKey, createdAt: generatedAt, retiredAt: null, publishedUntil: null }] };
    }
    case 'SigningKeyRotated': {
      const { kid, alg, publicJwk, wrappedPrivateKey, rotatedAt, previousKid, previousPublishedUntil } = event.data;
      const keys = state.keys.map((key) =>
        key.kid === previousKid ? { ...key, retiredAt: rotatedAt, publishedUntil: previousPublishedUntil } : key,
      );
      keys.push({ kid, alg, publicJwk, wrappedPrivateKey, createdAt: rotatedAt, retiredAt: null, publishedUntil: null });
      return { keys };
    }
  }
}

export function foldSigningKeyEvents(events: readonly SigningKeyEvent[]): SigningKeysState {
  return events.reduce(evolve, initialSigningKeysState);
}

/** The key that signs now, or null before the first one exists. */
export function activeKey(state: SigningKeysState): SigningKey | null {
  return state.keys.find((key) => key.retiredAt === null) ?? null;
}

/**
 * A key is published (and accepted for verification) while active, and after retirement
 * until `publishedUntil`: by then every token it signed has expired.
 */
export function isPublished(key: Pick<SigningKey, 'retiredAt' | 'publishedUntil'>, now: Date): boolean {
  if (key.retiredAt === null) return true;
  return key.publishedUntil !== null && new Date(key.publishedUntil).getTime() > now.getTime();
}

export function publishedKeys(state: SigningKeysState, now: Date): SigningKey[] {
  return state.keys.filter((key) => isPublished(key, now));
}
