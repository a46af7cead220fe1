import { randomBytes } from 'node:crypto';
import {
  decide,
  DEPLOYMENT_KEYS_STREAM,
  evolve,
  initialDeploymentKeysState,
  type DeploymentKeyCommand,
  type DeploymentKeyEvent,
  type DeploymentKeysState,
  type WrappedDeploymentSecret,
} from '../../domain/deployment-keys';
import { DEPLOYMENT_SECRET_BYTES, deploymentSecretWrappingKeys, masterKeyFingerprint, type MasterKeys } from '../../crypto/keyring';
import type { WrappingKeys } from '../../crypto/wrapping-keys';
import { EventStoreUnavailableError, WrongExpectedRevisionError, type EventStore, type ExpectedRevision } from '../../eventstore/port';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import { eventMetadata, SYSTEM_ACTOR } from '../request-context';
import { randomUUID } from 'node:crypto';
import { timeOrderedUuid } from '../../crypto/time-ordered-uuid';

const CONTEXT = 'keyledger/deployment-secret/v1';
const MAX_ATTEMPTS = 5;

export interface DeploymentSecretOptions {
  clock: Clock;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** How long to keep retrying while the event store is unreachable at start-up. */
  unavailableRetryMs?: number;
}

/**
 * Reads, creates and re-wraps the deployment secret in the `deployment-keys` stream. It
 * talks to the store directly rather than through the event writer: it runs before the
 * projections exist, and no read model holds it.
 */
export class DeploymentSecretService {
  private readonly wrapping: WrappingKeys;

  constructor(
    private readonly store: EventStore,
    private readonly masterKeys: MasterKeys,
    private readonly options: DeploymentSecretOptions,
  ) {
    this.wrapping = deploymentSecretWrappingKeys(masterKeys);
  }

  /** The secret; on a log without one, a new one, unless a concurrent starter's wins the `no_stream` append. */
  async load(): Promise<Buffer> {
    for (let attempt = 1; ; attempt++) {
      const { state } = await this.read();
      if (state.wrapped) return this.unwrap(state.wrapped);
      const secret = randomBytes(DEPLOYMENT_SECRET_BYTES);
      try {
        await this.append({ type: 'GenerateDeploymentSecret', wrapped: this.wrap(secret) }, state, 'no_stream');
        this.options.logger?.info({ wrappingKeyId: this.wrapping.currentId }, 'generated the deployment secret');
        return secret;
      } catch (error) {
        secret.fill(0);
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Records the secret wrapped by the current master key, if the latest wrapping is by
   * another. The secret itself never changes, so nothing derived from it does.
   */
  async rewrap(): Promise<'rewrapped' | 'unchanged'> {
    for (let attempt = 1; ; attempt++) {
      const { state, revision } = await this.read();
      if (!state.wrapped) {
        // Nothing was ever started on this log: what gets created now is wrapped by the new key already.
        await this.load();
        return 'unchanged';
      }
      if (state.wrapped.wrappingKeyId === this.wrapping.currentId) return 'unchanged';
      const secret = this.unwrap(state.wrapped);
      try {
        const events = await this.append({ type: 'RewrapDeploymentSecret', wrapped: this.wrap(secret) }, state, revision);
        return events.length > 0 ? 'rewrapped' : 'unchanged';
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError) || attempt >= MAX_ATTEMPTS) throw error;
      } finally {
        secret.fill(0);
      }
    }
  }

  private wrap(secret: Buffer): WrappedDeploymentSecret {
    return { wrappingKeyId: this.wrapping.currentId, blob: this.wrapping.wrap(secret, CONTEXT).toString('base64url') };
  }

  private unwrap(wrapped: WrappedDeploymentSecret): Buffer {
    const held = [this.masterKeys.current, this.masterKeys.previous].filter((key): key is Buffer => key !== null).map(masterKeyFingerprint);
    let secret: Buffer | null;
    try {
      secret = this.wrapping.unwrap(Buffer.from(wrapped.blob, 'base64url'), CONTEXT, 'The deployment secret in the event log');
    } catch (error) {
      throw new Error(
        `${(error as Error).message}. Configure the master key this deployment was started with (held: ${held.join(', ')}); ` +
          'after a rotation, run rotate-master-key before removing KEYLEDGER_PREVIOUS_MASTER_KEY',
      );
    }
    if (!secret || secret.length !== DEPLOYMENT_SECRET_BYTES) {
      throw new Error(`The deployment secret in the event log cannot be unwrapped with the configured master keys (${held.join(', ')}): it was altered`);
    }
    return secret;
  }

  private async read(): Promise<{ state: DeploymentKeysState; revision: ExpectedRevision }> {
    const events = await this.whileUnavailable(() => this.store.readStream(DEPLOYMENT_KEYS_STREAM));
    const state = events.reduce(
      (current, event) => evolve(current, { type: event.type, data: event.data } as unknown as DeploymentKeyEvent),
      initialDeploymentKeysState,
    );
    return { state, revision: events.length === 0 ? 'no_stream' : events[events.length - 1].revision };
  }

  private async append(command: DeploymentKeyCommand, state: DeploymentKeysState, expected: ExpectedRevision): Promise<DeploymentKeyEvent[]> {
    const now = this.options.clock.now();
    const events = decide(command, state, now);
    if (events.length === 0) return events;
    const metadata = eventMetadata({ requestId: `deployment-keys-${randomUUID()}` }, SYSTEM_ACTOR, now);
    await this.store.append(
      DEPLOYMENT_KEYS_STREAM,
      events.map((event) => ({ id: timeOrderedUuid(), type: event.type, data: event.data as unknown as Record<string, unknown>, metadata })),
      expected,
    );
    return events;
  }

  /** At start-up the store may still be coming up (a replica starting with its cluster): wait for it, within limits. */
  private async whileUnavailable<T>(operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.unavailableRetryMs ?? 60_000);
    for (;;) {
      try {
        return await operation();
      } catch (error) {
        if (!(error instanceof EventStoreUnavailableError) || Date.now() >= deadline) throw error;
        this.options.logger?.warn({ err: error }, 'event store unavailable while reading the deployment secret; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }
}
