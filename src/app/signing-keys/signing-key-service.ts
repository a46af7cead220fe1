import { createPublicKey, type KeyObject } from 'node:crypto';
import { CompactSign, SignJWT, type JWTPayload } from 'jose';
import { KeyledgerError } from '../../domain/errors';
import {
  decide,
  evolve,
  initialSigningKeysState,
  isPublished,
  SIGNING_KEYS_STREAM,
  type SigningKey,
  type SigningKeyCommand,
  type SigningKeyEvent,
  type SigningKeysState,
} from '../../domain/signing-keys';
import type { Actor } from '../../eventstore/port';
import { generateSigningKey, unwrapSigningKey } from '../../crypto/signing-key-material';
import { withLowS } from '../../crypto/ecdsa-low-s';
import type { SigningKeyQueries } from '../../../projections/signing-keys';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { eventMetadata, SYSTEM_ACTOR, type RequestContext } from '../request-context';

export interface PublishedJwk {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  kid: string;
  alg: string;
  use: 'sig';
}

export interface RotationOutcome {
  kid: string;
  previousKid: string;
  previousPublishedUntil: Date;
}

/**
 * The deployment's asymmetric signing keys: kept in the event log with the private part
 * wrapped by the master key, so every replica signs with and publishes the same keys.
 * Anything that must be signed by keyledger (partner access tokens, audit chain heads) goes
 * through here; verifiers get the public keys from the JWKS.
 */
export class SigningKeyService {
  private readonly privateKeys = new Map<string, KeyObject>();
  private readonly publicKeys = new Map<string, KeyObject>();

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: SigningKeyQueries,
    private readonly wrappingKey: Buffer,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates the first key unless the log has one. Processes starting at once each generate a
   * candidate; the append expects `no_stream`, so one wins and the others, on retry, find
   * its key and keep it.
   */
  async ensureSigningKey(ctx: Pick<RequestContext, 'requestId'>): Promise<'created' | 'exists'> {
    const key = await generateSigningKey(this.wrappingKey);
    const { events } = await this.run({ type: 'GenerateSigningKey', key }, ctx, SYSTEM_ACTOR);
    return events.length > 0 ? 'created' : 'exists';
  }

  /** A new key signs from now on; the previous one stays published until its last token has expired. */
  async rotate(ctx: Pick<RequestContext, 'requestId'>, actor: Actor = SYSTEM_ACTOR): Promise<RotationOutcome> {
    const key = await generateSigningKey(this.wrappingKey);
    const { events } = await this.run({ type: 'RotateSigningKey', key }, ctx, actor);
    const [rotated] = events;
    if (rotated?.type !== 'SigningKeyRotated') throw new Error('Rotation produced no SigningKeyRotated event');
    return {
      kid: rotated.data.kid,
      previousKid: rotated.data.previousKid,
      previousPublishedUntil: new Date(rotated.data.previousPublishedUntil),
    };
  }

  /** The key that signs now. */
  activeKey(): SigningKey {
    const key = this.queries.active();
    if (!key) throw new KeyledgerError('UNAVAILABLE', 'No signing key exists yet; keyledger is still starting');
    return key;
  }

  /** Signs a JWT with the active key; `kid`, `alg` and `typ` go into the protected header. */
  async signJwt(payload: JWTPayload, options: { typ: string; key?: SigningKey }): Promise<{ jwt: string; kid: string }> {
    const key = options.key ?? this.activeKey();
    const jwt = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: options.typ }).sign(this.privateKey(key));
    return { jwt: canonical(key, jwt), kid: key.kid };
  }

  /** A compact JWS over arbitrary bytes, for records that are not JWTs (such as audit chain heads). */
  async signJws(payload: Uint8Array, typ: string, key: SigningKey = this.activeKey()): Promise<{ jws: string; kid: string }> {
    const jws = await new CompactSign(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(this.privateKey(key));
    return { jws: canonical(key, jws), kid: key.kid };
  }

  /** The JWKS document: the active key and every retired key still within its publication window. */
  jwks(): { keys: PublishedJwk[] } {
    return {
      keys: this.queries.published(this.clock.now()).map((key) => ({
        ...(key.publicJwk as { kty: string; crv?: string; x?: string; y?: string }),
        kid: key.kid,
        alg: key.alg,
        use: 'sig' as const,
      })),
    };
  }

  /** The public key for a kid, if it is published now; verification accepts nothing else. */
  verificationKey(kid: string): { key: KeyObject; alg: string } | null {
    const key = this.queries.byKid(kid);
    if (!key || !isPublished(key, this.clock.now())) return null;
    let publicKey = this.publicKeys.get(kid);
    if (!publicKey) {
      publicKey = createPublicKey({ key: key.publicJwk as never, format: 'jwk' });
      this.publicKeys.set(kid, publicKey);
    }
    return { key: publicKey, alg: key.alg };
  }

  private privateKey(key: SigningKey): KeyObject {
    let privateKey = this.privateKeys.get(key.kid);
    if (!privateKey) {
      privateKey = unwrapSigningKey(this.wrappingKey, key.kid, key.wrappedPrivateKey);
      this.privateKeys.set(key.kid, privateKey);
    }
    return privateKey;
  }

  private run(command: SigningKeyCommand, ctx: Pick<RequestContext, 'requestId'>, actor: Actor) {
    const now = this.clock.now();
    return this.writer.execute<SigningKeysState, SigningKeyEvent>({
      streamId: SIGNING_KEYS_STREAM,
      initial: initialSigningKeysState,
      evolve,
      metadata: eventMetadata(ctx, actor, now),
      decide: (state) => decide(command, state, now),
    });
  }
}

/** The one encoding of a signature that verifiers accept (see `withLowS`). */
function canonical(key: SigningKey, jws: string): string {
  return key.alg === 'ES256' ? withLowS(jws) : jws;
}
