import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { timeOrderedUuid } from '../../crypto/time-ordered-uuid';
import {
  DELIVERY_PUSH,
  deliveryStateOf,
  evolveStreams,
  SSF_STREAM_EVENT_TYPES,
  ssfDeliveryStreamId,
  type SsfDeliveryEvent,
  type StreamDefinition,
} from '../../domain/ssf/events';
import { WrongExpectedRevisionError, type EventStore, type EventSubscription, type ExpectedRevision } from '../../eventstore/port';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { CommittedEventSource } from '../revocations/revocation-feed';
import { SYSTEM_ACTOR } from '../request-context';
import { postSet } from './receiver-address';
import { readPendingSets, SET_SOURCE_EVENT_TYPES, type SecurityEvent } from './security-events';

/** SETs read from the log per round; the round repeats while more wait. */
const BATCH = 50;
const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 300_000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface PushDeliveryOptions {
  store: EventStore;
  /** Committed events of every replica, which wake the streams of their tenant. */
  events: CommittedEventSource;
  sign(set: SecurityEvent): Promise<string>;
  clock: Clock;
  logger: Logger;
  /** How long a replica holds a stream's delivery before another may take it over. */
  leaseMs: number;
  /** Whether receivers may be on loopback, private or link-local addresses. */
  privateAddresses: boolean;
}

type Outcome = 'accepted' | 'rejected' | 'retry';

/**
 * RFC 8935 push delivery. Every replica runs one; for each push stream, the replica holding
 * the stream's lease POSTs its SETs in log order, one at a time, retrying with exponential
 * backoff until the receiver answers 202, and records the position delivered after each.
 * Lease and position are events in the stream's delivery stream, appended with the
 * expected revision, so a replica that lost its lease cannot record anything, and a
 * restarted or surviving replica resumes from the recorded position. A replica sends only
 * while its lease has at least half its length to run, and a request never outlasts that
 * half, so two replicas never send the same stream's SETs at once; one killed after the
 * receiver took a SET but before recording it makes the next holder send it again, with
 * the same jti (delivery is at least once).
 */
export class PushDelivery {
  private readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly streams = new Map<string, StreamDefinition>();
  private readonly rounds = new Map<string, { again: boolean; done: Promise<void> }>();
  private readonly abort = new AbortController();
  private subscription: EventSubscription | null = null;
  private following: Promise<void> | null = null;
  private detach: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: PushDeliveryOptions) {}

  start(): void {
    if (this.subscription || this.stopped) return;
    this.subscription = this.options.store.subscribe({ fromPosition: null, eventTypes: SSF_STREAM_EVENT_TYPES });
    this.following = this.follow(this.subscription);
    this.detach = this.options.events.onEvents((events) => {
      const tenants = new Set<string>();
      for (const event of events) {
        if (SET_SOURCE_EVENT_TYPES.includes(event.type)) tenants.add((event.data as { tenantId?: string }).tenantId ?? '');
      }
      for (const stream of this.streams.values()) if (tenants.has(stream.tenantId)) this.kick(stream.streamId);
    });
    // Takes over the streams of a replica that stopped renewing, and retries after failures.
    this.timer = setInterval(() => this.kickAll(), Math.max(250, this.options.leaseMs / 2));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    this.detach?.();
    await this.subscription?.close();
    await this.following;
    await Promise.all([...this.rounds.values()].map((round) => round.done));
  }

  private async follow(subscription: EventSubscription): Promise<void> {
    try {
      for await (const message of subscription) {
        if (message.type === 'events') {
          for (const event of message.events) evolveStreams(this.streams, event);
          for (const event of message.events) this.kick((event.data as { streamId: string }).streamId);
        }
        if (message.type === 'caughtUp') this.kickAll();
      }
    } catch (error) {
      if (!this.stopped) this.options.logger.error({ err: error }, 'SSF push delivery stopped following its streams');
    }
  }

  private kickAll(): void {
    for (const stream of this.streams.values()) this.kick(stream.streamId);
  }

  private kick(streamId: string): void {
    if (this.stopped) return;
    const stream = this.streams.get(streamId);
    if (!stream || stream.method !== DELIVERY_PUSH) return;
    const running = this.rounds.get(streamId);
    if (running) {
      running.again = true;
      return;
    }
    const round = { again: true, done: Promise.resolve() };
    round.done = (async () => {
      try {
        while (round.again && !this.stopped) {
          round.again = false;
          if (await this.deliver(streamId)) round.again = true;
        }
      } catch (error) {
        if (!this.stopped) this.options.logger.error({ err: error, streamId }, 'SSF push delivery round failed');
      } finally {
        this.rounds.delete(streamId);
      }
    })();
    this.rounds.set(streamId, round);
  }

  /** One round on one stream; true when more SETs wait. */
  private async deliver(streamId: string): Promise<boolean> {
    const stream = this.streams.get(streamId);
    if (!stream || stream.method !== DELIVERY_PUSH || stream.status !== 'enabled') return false;
    const { store, clock, leaseMs } = this.options;
    const deliveryStream = ssfDeliveryStreamId(streamId);
    const state = deliveryStateOf(await store.readStream(deliveryStream));
    if (state.lease && state.lease.holder !== this.holder && state.lease.leasedUntil.getTime() > clock.now().getTime()) return false;
    const pending = await readPendingSets(store, stream, state.position, BATCH);
    if (pending.groups.length === 0) return false;

    let revision: ExpectedRevision = state.revision;
    let lease = state.lease;
    const append = async (event: SsfDeliveryEvent): Promise<boolean> => {
      try {
        const metadata = { actor: SYSTEM_ACTOR, requestId: `ssf-delivery-${randomUUID()}`, occurredAt: clock.now().toISOString() };
        revision = (await store.append(deliveryStream, [{ id: timeOrderedUuid(), type: event.type, data: event.data as never, metadata }], revision)).nextExpectedRevision;
        return true;
      } catch (error) {
        // Another replica took the stream over: it delivers from the recorded position.
        if (error instanceof WrongExpectedRevisionError) return false;
        throw error;
      }
    };
    const holdLease = async (): Promise<boolean> => {
      const now = clock.now().getTime();
      if (lease && lease.holder === this.holder && lease.leasedUntil.getTime() - now > leaseMs / 2) return true;
      const leasedUntil = new Date(now + leaseMs);
      if (!(await append({ type: 'SsfDeliveryLeased', data: { streamId, tenantId: stream.tenantId, holder: this.holder, leasedUntil: leasedUntil.toISOString() } }))) return false;
      lease = { holder: this.holder, leasedUntil };
      return true;
    };

    for (const group of pending.groups) {
      for (const set of group.sets) {
        const jwt = await this.options.sign(set);
        for (let attempt = 0; ; attempt++) {
          if (this.stopped || !(await holdLease())) return false;
          const current = this.streams.get(streamId);
          if (!current || current.status !== 'enabled') return false;
          const outcome = await this.post(current.endpointUrl!, jwt, streamId, set.jti);
          if (outcome !== 'retry') break;
          const delay = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt) * (0.8 + Math.random() * 0.4);
          await this.pause(delay);
        }
      }
      if (!(await append({ type: 'SsfSetsDelivered', data: { streamId, tenantId: stream.tenantId, position: group.position.toString(), jtis: group.sets.map((set) => set.jti) } }))) return false;
    }
    return pending.more;
  }

  private async post(endpoint: string, jwt: string, streamId: string, jti: string): Promise<Outcome> {
    const timeout = AbortSignal.timeout(Math.min(REQUEST_TIMEOUT_MS, this.options.leaseMs / 2));
    try {
      const response = await postSet(endpoint, jwt, { signal: AbortSignal.any([timeout, this.abort.signal]), publicOnly: !this.options.privateAddresses });
      const text = response.text;
      if (response.status === 202 || response.status === 200) return 'accepted';
      if (response.status === 400) {
        // RFC 8935 §2.3: the receiver read the SET and refuses it for good; sending it again cannot help.
        let err: unknown;
        try {
          err = (JSON.parse(text) as { err?: unknown }).err;
        } catch {
          err = undefined;
        }
        this.options.logger.warn({ streamId, jti, err: typeof err === 'string' ? err.slice(0, 64) : null }, 'an SSF push receiver refused a SET');
        return 'rejected';
      }
      this.options.logger.warn({ streamId, jti, status: response.status }, 'an SSF push receiver did not accept a SET; retrying');
      return 'retry';
    } catch (error) {
      if (this.stopped) return 'retry';
      const name = (error as Error).name;
      if (name === 'ReceiverAddressRefused') {
        this.options.logger.warn({ streamId, jti, error: name }, 'an SSF push receiver resolves to no public address; retrying');
      } else {
        this.options.logger.warn({ streamId, jti, error: name }, 'an SSF push receiver could not be reached; retrying');
      }
      return 'retry';
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }
}
