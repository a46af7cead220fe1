import { createHmac } from 'node:crypto';
import { badInput, conflict, KeyledgerError } from '../../domain/errors';
import {
  decideIdempotency,
  reusedIdempotencyKey,
  evolveIdempotency,
  idempotencyStreamId,
  initialIdempotencyState,
  type IdempotencyEvent,
  type IdempotencyKeyClaimed,
  type IdempotencyKeyReleased,
  type IdempotencyState,
  type IdempotentOutcome,
  type IdempotentRequestCompleted,
} from '../../domain/idempotency';
import { WrongExpectedRevisionError, type EventMetadata } from '../../eventstore/port';
import type { Logger } from '../../logger';
import { canonicalJson } from '../../../projections/audit/audit-entry';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7e]+$/;
const CLAIM_ATTEMPTS = 3;

/** 1-255 printable ASCII characters; anything else is BAD_USER_INPUT (without echoing the value). */
export function requireIdempotencyKey(key: string): string {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw badInput(`idempotencyKey must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`, 'idempotencyKey');
  }
  return key;
}

export interface IdempotentRequest {
  /** The caller: keys are scoped to the credential that authenticated the request. */
  principal: Principal;
  key: string;
  /** The mutation's name: the same key on another mutation is another request. */
  operation: string;
  /** The mutation's arguments except the key; only their HMAC is kept. */
  args: Record<string, unknown>;
  /**
   * Where secret arguments sit in `args` (`input.secret`, `input.apiKey`). Their values never
   * enter the fingerprint, only whether they were given; a replay compares them with the
   * secret's own storage instead (`IdempotentHandlers.sameSecrets`).
   */
  secretPaths?: readonly string[];
}

export interface IdempotentHandlers<T> {
  /** Runs the mutation and names what it created or changed. */
  execute(): Promise<{ value: T; outcome: IdempotentOutcome }>;
  /** Answers a retry from the recorded outcome, reading the entity as it is now; appends nothing. */
  replay(outcome: IdempotentOutcome): Promise<T>;
  /**
   * Required when the request holds secret arguments: whether they are the ones the request
   * that recorded `outcome` stored, checked against that storage (an argon2 hash, or
   * ciphertext under the record's data key). False refuses the retry as a reused key; null
   * means it can no longer be told, because the storage is gone (the data key destroyed).
   */
  sameSecrets?(outcome: IdempotentOutcome): Promise<boolean | null>;
}

export interface IdempotentResult<T> {
  value: T;
  replayed: boolean;
  /** When the request that executed completed (for a first execution: now). */
  originalAt: Date;
}

/**
 * Runs mutations at most once per (caller, idempotency key), across requests, processes and
 * replicas. The protocol, on the key's own stream in the event store:
 *
 * 1. Claim: append `IdempotencyKeyClaimed` with the revision the key's state was read at
 *    (`no_stream` for a new key). Of two concurrent requests one append fails; that one
 *    reads again and finds the claim, so it answers CONFLICT (in progress) or, once the
 *    first has completed, the replay.
 * 2. Execute the mutation.
 * 3. Complete: append `IdempotentRequestCompleted` naming the outcome, expecting the claim's
 *    revision. If the mutation failed with an error that certainly changed nothing (bad
 *    input, not found, conflict, forbidden), append `IdempotencyKeyReleased` instead, so a
 *    corrected retry under the same key runs.
 *
 * A claim that is never completed (the gateway crashed, or the store became unreachable
 * mid-request) counts as in flight for a minute, then may be claimed again. An outcome is
 * replayed until it expires (`KEYLEDGER_IDEMPOTENCY_TTL_HOURS` after completion); after that
 * the key is new again.
 */
export class IdempotentRequests {
  constructor(
    private readonly writer: EventWriter,
    private readonly hmacKey: Buffer,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  async run<T>(ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>, request: IdempotentRequest, handlers: IdempotentHandlers<T>): Promise<IdempotentResult<T>> {
    const keyId = this.keyIdOf(request.principal.id, requireIdempotencyKey(request.key));
    const streamId = idempotencyStreamId(keyId);
    const { args, hasSecrets } = withoutSecretValues(request.args, request.secretPaths ?? []);
    if (hasSecrets && !handlers.sameSecrets) throw new Error(`${request.operation} has secret arguments but no way to compare them on a replay`);
    const requestFingerprint = this.requestFingerprint(request.operation, args);
    const base = { keyId, tenantId: request.principal.tenantId, operation: request.operation };
    const metadata = () => eventMetadata(ctx, actorOf(request.principal), this.clock.now());

    const claim = await this.claim(streamId, { ...base, requestFingerprint }, metadata);
    if (claim.action === 'replay') {
      if (hasSecrets && (await handlers.sameSecrets!(claim.outcome)) === false) throw reusedIdempotencyKey();
      return { value: await handlers.replay(claim.outcome), replayed: true, originalAt: new Date(claim.originalAt) };
    }

    let executed: { value: T; outcome: IdempotentOutcome };
    try {
      executed = await handlers.execute();
    } catch (error) {
      if (changedNothing(error)) {
        const released: IdempotencyKeyReleased = { type: 'IdempotencyKeyReleased', data: { ...base, releasedAt: this.clock.now().toISOString() } };
        await this.appendAfterClaim(streamId, released, metadata(), claim.revision);
      }
      throw error;
    }
    const completedAt = this.clock.now();
    const completed: IdempotentRequestCompleted = {
      type: 'IdempotentRequestCompleted',
      data: {
        ...base,
        outcome: executed.outcome,
        completedAt: completedAt.toISOString(),
        expiresAt: new Date(completedAt.getTime() + this.ttlMs).toISOString(),
      },
    };
    await this.appendAfterClaim(streamId, completed, metadata(), claim.revision);
    return { value: executed.value, replayed: false, originalAt: completedAt };
  }

  /** The key's stream name: an HMAC of caller and key, so neither is readable from the log. */
  keyIdOf(principalId: string, key: string): string {
    return this.hmac(`key\0${principalId}\0${key}`).slice(0, 40);
  }

  /**
   * An HMAC over the operation and the canonical JSON of its arguments, so the log does not
   * show what was asked. Secret values are taken out before (see `secretPaths`): an HMAC
   * under a deployment key would let whoever holds that key test guesses of a secret far
   * faster than its argon2 hash allows, and after its data key is destroyed.
   */
  requestFingerprint(operation: string, args: Record<string, unknown>): string {
    const given = Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined && value !== null));
    // Through JSON first, so a date is one ISO form however the client wrote it, and absent fields vanish.
    return this.hmac(`request\0${operation}\0${canonicalJson(JSON.parse(JSON.stringify(given)))}`);
  }

  private async claim(
    streamId: string,
    data: Omit<IdempotencyKeyClaimed['data'], 'claimedAt'>,
    metadata: () => EventMetadata,
  ): Promise<{ action: 'claimed'; revision: number } | { action: 'replay'; outcome: IdempotentOutcome; originalAt: string }> {
    for (let attempt = 1; ; attempt++) {
      const { state, revision, position } = await this.writer.load<IdempotencyState, IdempotencyEvent>(streamId, initialIdempotencyState, evolveIdempotency);
      const now = this.clock.now();
      const decision = decideIdempotency(data, state, now);
      if (decision.action === 'replay') {
        // The outcome may have been recorded through another replica: the entity is read from this one's read models.
        if (position !== null) await this.writer.waitForReadModels(streamId, position);
        return decision;
      }
      const claimed: IdempotencyKeyClaimed = { type: 'IdempotencyKeyClaimed', data: { ...data, claimedAt: now.toISOString() } };
      try {
        await this.writer.append(streamId, [claimed], metadata(), revision);
        return { action: 'claimed', revision: revision === 'no_stream' ? 0 : (revision as number) + 1 };
      } catch (error) {
        // Another request claimed or completed the key meanwhile: read again, and answer as its state says.
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= CLAIM_ATTEMPTS) throw conflict('Too many concurrent requests with this idempotency key; retry shortly');
      }
    }
  }

  /** The mutation has run (or certainly not): failing to record that must not fail the response. */
  private async appendAfterClaim(streamId: string, event: IdempotencyEvent, metadata: EventMetadata, claimRevision: number): Promise<void> {
    try {
      await this.writer.append(streamId, [event], metadata, claimRevision);
    } catch (error) {
      // The claim then expires after its grace period, and a retry executes again.
      this.logger.warn({ err: error, streamId, event: event.type }, 'could not record the end of an idempotent request');
    }
  }

  private hmac(value: string): string {
    return createHmac('sha256', this.hmacKey).update(value, 'utf8').digest('hex');
  }
}

/** Stands in the fingerprint for a secret argument that was given. */
const GIVEN_SECRET = { secret: 'given' };

/** The arguments with each given secret replaced by a marker, and whether there was any. */
function withoutSecretValues(args: Record<string, unknown>, secretPaths: readonly string[]): { args: Record<string, unknown>; hasSecrets: boolean } {
  let hasSecrets = false;
  const copy = structuredClone(args);
  for (const path of secretPaths) {
    const segments = path.split('.');
    const last = segments.pop()!;
    let parent: unknown = copy;
    for (const segment of segments) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string, unknown>)[segment] : undefined;
    if (parent === null || typeof parent !== 'object') continue;
    const holder = parent as Record<string, unknown>;
    if (holder[last] === undefined || holder[last] === null) continue;
    holder[last] = GIVEN_SECRET;
    hasSecrets = true;
  }
  return { args: copy, hasSecrets };
}

/** Errors raised before anything was written. An unreachable store (UNAVAILABLE) or a bug leaves the outcome unknown. */
function changedNothing(error: unknown): boolean {
  return error instanceof KeyledgerError && error.code !== 'UNAVAILABLE' && error.code !== 'INTERNAL_SERVER_ERROR';
}
