import { randomUUID } from 'node:crypto';
import { Role } from '../../domain/access/roles';
import { badInput, conflict, KeyledgerError, notFound } from '../../domain/errors';
import {
  DELIVERY_POLL,
  DELIVERY_PUSH,
  deliveryStateOf,
  EVENTS_SUPPORTED,
  evolveStreams,
  ssfDeliveryStreamId,
  ssfTenantStreamId,
  STREAM_STATUSES,
  type DeliveryMethod,
  type SsfDeliveryEvent,
  type SsfStreamEvent,
  type StreamDefinition,
  type StreamStatus,
} from '../../domain/ssf/events';
import { WrongExpectedRevisionError, type EventStore, type RecordedEvent } from '../../eventstore/port';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import type { PublicUrl } from '../public-url';
import type { CommittedEventSource } from '../revocations/revocation-feed';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';
import type { SigningKeyService } from '../signing-keys/signing-key-service';
import { requireRole } from '../tenant-access';
import { readPendingSets, SET_SOURCE_EVENT_TYPES, type SecurityEvent } from './security-events';
import { isPublicAddress, literalAddressOf } from './receiver-address';

export const SSF_PATHS = {
  configuration: '/.well-known/ssf-configuration',
  streams: '/ssf/streams',
  status: '/ssf/status',
  verify: '/ssf/verify',
  poll: '/ssf/poll/:streamId',
} as const;

const STREAM_ID_PATTERN = /^ssf_[0-9a-f]{32}$/;
const MAX_STREAMS_PER_TENANT = 20;
const MAX_EVENTS_REQUESTED = 20;
const DEFAULT_MAX_EVENTS = 100;
const MAX_MAX_EVENTS = 1000;
/** Acknowledgements are matched against at most this many pending SETs. */
const ACK_WINDOW = 10_000;
const MAX_ATTEMPTS = 3;

/** A stream as SSF 1.0 describes it to its receiver. */
export interface StreamConfiguration {
  stream_id: string;
  iss: string;
  aud: string;
  events_supported: readonly string[];
  events_requested: string[];
  events_delivered: string[];
  delivery: { method: DeliveryMethod; endpoint_url: string };
  description?: string;
}

export interface PollResponse {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

export interface SsfStreamsOptions {
  store: EventStore;
  writer: EventWriter;
  events: CommittedEventSource;
  signingKeys: SigningKeyService;
  publicUrl: PublicUrl;
  clock: Clock;
  logger: Logger;
  /** Push endpoints must be https (production), or may be plain http too. */
  requireHttps: boolean;
  /** Whether push receivers may be on loopback, private or link-local addresses. */
  privateAddresses: boolean;
  /** How long a poll with `returnImmediately: false` waits for a SET. */
  pollWaitMs: number;
}

type Body = Record<string, unknown>;

function objectBody(body: unknown): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badInput('The request body must be a JSON object');
  return body as Body;
}

function streamIdOf(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw badInput('stream_id is required', 'stream_id');
  return value;
}

function optionalString(body: Body, field: string, max: number): string | null | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== 'string' || value.length > max) throw badInput(`${field} must be a string of at most ${max} characters`, field);
  return value;
}

function eventsRequestedOf(body: Body): string[] | undefined {
  const value = body.events_requested;
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > MAX_EVENTS_REQUESTED || value.some((item) => typeof item !== 'string' || item.length > 256)) {
    throw badInput(`events_requested must be an array of at most ${MAX_EVENTS_REQUESTED} event type URIs`, 'events_requested');
  }
  return [...new Set(value as string[])];
}

/**
 * The SSF transmitter's stream management and poll delivery. A receiver is a keyledger
 * credential holding keyledger:events:read; it sees and changes its own tenant's streams
 * only, and another tenant's stream id reads as missing.
 */
export class SsfStreams {
  private readonly waiters = new Set<() => void>();
  private detach: (() => void) | null = null;
  private stopped = false;

  constructor(private readonly options: SsfStreamsOptions) {}

  start(): void {
    this.detach ??= this.options.events.onEvents((events) => {
      if (events.some((event) => SET_SOURCE_EVENT_TYPES.includes(event.type))) this.wake();
    });
  }

  /** Ends waiting polls, which answer with what they have (nothing). */
  stop(): void {
    this.stopped = true;
    this.detach?.();
    this.detach = null;
    this.wake();
  }

  configuration() {
    const base = this.options.publicUrl.value;
    return {
      spec_version: '1_0',
      issuer: base,
      jwks_uri: `${base}/.well-known/jwks.json`,
      delivery_methods_supported: [DELIVERY_PUSH, DELIVERY_POLL],
      configuration_endpoint: `${base}${SSF_PATHS.streams}`,
      status_endpoint: `${base}${SSF_PATHS.status}`,
      verification_endpoint: `${base}${SSF_PATHS.verify}`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
      default_subjects: 'ALL',
    };
  }

  async create(ctx: RequestContext, input: unknown): Promise<StreamConfiguration> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const body = objectBody(input);
    const delivery = objectBody(body.delivery ?? { method: DELIVERY_POLL });
    const method = delivery.method;
    if (method !== DELIVERY_PUSH && method !== DELIVERY_POLL) throw badInput(`delivery.method must be ${DELIVERY_PUSH} or ${DELIVERY_POLL}`, 'delivery.method');
    this.refuseAuthorizationHeader(delivery);
    let endpointUrl: string | null = null;
    if (method === DELIVERY_PUSH) endpointUrl = this.pushEndpoint(delivery.endpoint_url);
    else if (delivery.endpoint_url !== undefined) throw badInput('A poll stream\'s endpoint_url is chosen by keyledger; leave it out', 'delivery.endpoint_url');
    const audience = optionalString(body, 'aud', 512) ?? caller.id;
    const description = optionalString(body, 'description', 1000) ?? null;
    const eventsRequested = eventsRequestedOf(body) ?? [...EVENTS_SUPPORTED];
    const streamId = `ssf_${randomUUID().replace(/-/g, '')}`;
    const stream = await this.change(ctx, caller, (streams) => {
      if (streams.size >= MAX_STREAMS_PER_TENANT) throw conflict(`A tenant may have at most ${MAX_STREAMS_PER_TENANT} streams; delete one first`);
      return {
        type: 'SsfStreamCreated',
        data: { streamId, tenantId: caller.tenantId, audience, method, endpointUrl, eventsRequested, description, createdAt: this.now() },
      };
    }, streamId);
    return this.describe(stream!);
  }

  async read(ctx: RequestContext, streamId: string | undefined): Promise<StreamConfiguration | StreamConfiguration[]> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const { streams } = await this.load(caller.tenantId);
    if (streamId === undefined) return [...streams.values()].map((stream) => this.describe(stream));
    return this.describe(this.find(streams, streamId));
  }

  /** PATCH changes the fields given; PUT replaces the changeable ones, defaults for those left out. */
  async update(ctx: RequestContext, input: unknown, replace: boolean): Promise<StreamConfiguration> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const body = objectBody(input);
    const streamId = streamIdOf(body.stream_id);
    const eventsRequested = eventsRequestedOf(body);
    const description = optionalString(body, 'description', 1000);
    const delivery = body.delivery === undefined ? undefined : objectBody(body.delivery);
    if (delivery) this.refuseAuthorizationHeader(delivery);
    const stream = await this.change(ctx, caller, (streams) => {
      const current = this.find(streams, streamId);
      const changes: { eventsRequested?: string[]; description?: string | null; endpointUrl?: string } = {};
      if (eventsRequested !== undefined || replace) changes.eventsRequested = eventsRequested ?? [...EVENTS_SUPPORTED];
      if (description !== undefined || replace) changes.description = description ?? null;
      if (delivery) {
        if (delivery.method !== undefined && delivery.method !== current.method) throw badInput('A stream\'s delivery method cannot change; create another stream', 'delivery.method');
        if (current.method === DELIVERY_PUSH && delivery.endpoint_url !== undefined) changes.endpointUrl = this.pushEndpoint(delivery.endpoint_url);
      } else if (replace) {
        throw badInput('delivery is required when replacing a stream', 'delivery');
      }
      return { type: 'SsfStreamUpdated', data: { streamId, tenantId: caller.tenantId, changes, updatedAt: this.now() } };
    }, streamId);
    return this.describe(stream!);
  }

  async remove(ctx: RequestContext, streamId: string | undefined): Promise<void> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const id = streamIdOf(streamId);
    await this.change(ctx, caller, (streams) => {
      this.find(streams, id);
      return { type: 'SsfStreamDeleted', data: { streamId: id, tenantId: caller.tenantId, deletedAt: this.now() } };
    });
  }

  async status(ctx: RequestContext, streamId: string | undefined): Promise<{ stream_id: string; status: StreamStatus; reason?: string }> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const { streams } = await this.load(caller.tenantId);
    return this.statusOf(this.find(streams, streamIdOf(streamId)));
  }

  async setStatus(ctx: RequestContext, input: unknown): Promise<{ stream_id: string; status: StreamStatus; reason?: string }> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const body = objectBody(input);
    const streamId = streamIdOf(body.stream_id);
    const status = body.status as StreamStatus;
    if (!STREAM_STATUSES.includes(status)) throw badInput(`status must be one of ${STREAM_STATUSES.join(', ')}`, 'status');
    const reason = optionalString(body, 'reason', 1000) ?? null;
    const stream = await this.change(ctx, caller, (streams) => {
      this.find(streams, streamId);
      return { type: 'SsfStreamStatusChanged', data: { streamId, tenantId: caller.tenantId, status, reason, changedAt: this.now() } };
    }, streamId);
    return this.statusOf(stream!);
  }

  /** The verification SET follows in log order through the stream's own delivery. */
  async verify(ctx: RequestContext, input: unknown): Promise<void> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const body = objectBody(input);
    const streamId = streamIdOf(body.stream_id);
    const state = optionalString(body, 'state', 256) ?? null;
    await this.change(ctx, caller, (streams) => {
      this.find(streams, streamId);
      return { type: 'SsfVerificationRequested', data: { streamId, tenantId: caller.tenantId, state, requestedAt: this.now() } };
    });
  }

  /**
   * RFC 8936: applies the acknowledgements (errors reported in `setErrs` acknowledge too),
   * then answers the SETs not yet acknowledged, oldest first. Acknowledgements are events,
   * so a SET is returned again, by any replica, until one is recorded.
   */
  async poll(ctx: RequestContext, streamId: string, input: unknown, signal?: AbortSignal): Promise<PollResponse> {
    const caller = await requireRole(ctx, Role.eventsRead);
    const body = objectBody(input ?? {});
    const acks = this.acksOf(body);
    const maxEvents = body.maxEvents === undefined ? DEFAULT_MAX_EVENTS : body.maxEvents;
    if (!Number.isInteger(maxEvents) || (maxEvents as number) < 0) throw badInput('maxEvents must be a non-negative integer', 'maxEvents');
    const limit = Math.min(maxEvents as number, MAX_MAX_EVENTS);
    const returnImmediately = body.returnImmediately ?? false;
    if (typeof returnImmediately !== 'boolean') throw badInput('returnImmediately must be a boolean', 'returnImmediately');

    let stream = await this.pollStream(caller, streamId);
    if (acks.size > 0) await this.acknowledge(ctx, caller, stream, acks);
    const deadline = Date.now() + this.options.pollWaitMs;
    for (;;) {
      const woken = returnImmediately || limit === 0 || this.stopped ? null : this.nextWake();
      const delivery = deliveryStateOf(await this.options.store.readStream(ssfDeliveryStreamId(streamId)));
      const pending = await readPendingSets(this.options.store, stream, delivery.position, Math.max(limit, 1), (set) => delivery.ackedAbove.has(set.jti));
      const sets = pending.groups.flatMap((group) => group.sets);
      if (limit === 0) return { sets: {}, moreAvailable: sets.length > 0 };
      if (sets.length > 0 || !woken || Date.now() >= deadline || signal?.aborted) {
        woken?.cancel();
        return { sets: await this.signAll(sets.slice(0, limit)), moreAvailable: pending.more || sets.length > limit };
      }
      const abort = () => woken.cancel();
      signal?.addEventListener('abort', abort, { once: true });
      await Promise.race([woken.promise, new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now())).unref())]);
      signal?.removeEventListener('abort', abort);
      woken.cancel();
      stream = await this.pollStream(caller, streamId);
    }
  }

  private async pollStream(caller: Principal, streamId: string): Promise<StreamDefinition> {
    const { streams } = await this.load(caller.tenantId);
    const stream = this.find(streams, streamId);
    if (stream.method !== DELIVERY_POLL) throw badInput('This stream delivers by push; it cannot be polled', 'stream_id');
    return stream;
  }

  private acksOf(body: Body): Set<string> {
    const acks = new Set<string>();
    if (body.ack !== undefined) {
      if (!Array.isArray(body.ack) || body.ack.length > ACK_WINDOW || body.ack.some((jti) => typeof jti !== 'string' || jti.length > 256)) {
        throw badInput('ack must be an array of jti strings', 'ack');
      }
      for (const jti of body.ack as string[]) acks.add(jti);
    }
    if (body.setErrs !== undefined) {
      const errors = objectBody(body.setErrs);
      for (const [jti, error] of Object.entries(errors)) {
        const err = typeof error === 'object' && error !== null ? (error as Body).err : undefined;
        if (typeof err !== 'string') throw badInput('setErrs maps each jti to { "err", "description" }', 'setErrs');
        acks.add(jti);
      }
      if (Object.keys(errors).length > 0) {
        this.options.logger.warn({ jtis: Object.keys(errors).slice(0, 20).map((jti) => jti.slice(0, 64)) }, 'an SSF poll receiver reported SETs it could not process');
      }
    }
    return acks;
  }

  private async acknowledge(ctx: RequestContext, caller: Principal, stream: StreamDefinition, acks: Set<string>): Promise<void> {
    const deliveryStream = ssfDeliveryStreamId(stream.streamId);
    for (let attempt = 1; ; attempt++) {
      const state = deliveryStateOf(await this.options.store.readStream(deliveryStream));
      const acked = (set: SecurityEvent) => state.ackedAbove.has(set.jti) || acks.has(set.jti);
      const { groups } = await readPendingSets(this.options.store, stream, state.position, ACK_WINDOW);
      let through = state.position;
      let index = 0;
      for (; index < groups.length && groups[index].sets.every(acked); index++) through = groups[index].position;
      const above = groups.slice(index).flatMap((group) => group.sets.filter(acked).map((set) => set.jti));
      const unchanged = through === state.position && above.length === state.ackedAbove.size;
      if (unchanged) return;
      const event: SsfDeliveryEvent = {
        type: 'SsfSetsAcknowledged',
        data: { streamId: stream.streamId, tenantId: stream.tenantId, ackedThrough: through === null ? null : through.toString(), ackedAbove: above },
      };
      try {
        await this.options.writer.append(deliveryStream, [event], eventMetadata(ctx, actorOf(caller), this.options.clock.now()), state.revision);
        return;
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < MAX_ATTEMPTS) continue;
        if (error instanceof WrongExpectedRevisionError) throw conflict('The stream was acknowledged concurrently; poll again');
        throw error;
      }
    }
  }

  private async signAll(sets: SecurityEvent[]): Promise<Record<string, string>> {
    const signed: Record<string, string> = {};
    for (const set of sets) signed[set.jti] = await this.sign(set);
    return signed;
  }

  /** Signs a SET with the gateway's active key, as published in its JWKS. */
  async sign(set: SecurityEvent): Promise<string> {
    const { jwt } = await this.options.signingKeys.signJwt({ iss: this.options.publicUrl.value, ...set.claims }, { typ: 'secevent+jwt' });
    return jwt;
  }

  private nextWake(): { promise: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const promise = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.add(wake);
    return {
      promise,
      cancel: () => {
        this.waiters.delete(wake);
        wake();
      },
    };
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  private refuseAuthorizationHeader(delivery: Body): void {
    if (delivery.authorization_header !== undefined) {
      throw badInput('authorization_header is not supported: a receiver authenticates each SET by its signature, against jwks_uri', 'delivery.authorization_header');
    }
  }

  private pushEndpoint(value: unknown): string {
    let url: URL;
    try {
      if (typeof value !== 'string' || value.length > 2048) throw new TypeError();
      url = new URL(value);
    } catch {
      throw badInput('delivery.endpoint_url must be the absolute URL of the receiver\'s push endpoint', 'delivery.endpoint_url');
    }
    // A receiver on the same host (a sidecar) is reached without TLS; any other needs it in production.
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
    const allowed = this.options.requireHttps && !loopback ? ['https:'] : ['https:', 'http:'];
    if (!allowed.includes(url.protocol)) throw badInput(`delivery.endpoint_url must be an ${allowed.join(' or ').replace(/:/g, '')} URL`, 'delivery.endpoint_url');
    if (url.username || url.password) throw badInput('delivery.endpoint_url must not hold credentials', 'delivery.endpoint_url');
    // A name is checked where it matters, on the address connected to at each delivery.
    const literal = literalAddressOf(url);
    if (!this.options.privateAddresses && literal !== null && !isPublicAddress(literal)) {
      throw badInput('delivery.endpoint_url must be a public address on this gateway (KEYLEDGER_SSF_PUSH_PRIVATE_ADDRESSES=deny)', 'delivery.endpoint_url');
    }
    return url.toString();
  }

  private async load(tenantId: string): Promise<{ streams: Map<string, StreamDefinition>; events: RecordedEvent[] }> {
    const events = await this.options.writer.readStream(ssfTenantStreamId(tenantId));
    const streams = new Map<string, StreamDefinition>();
    for (const event of events) evolveStreams(streams, event);
    return { streams, events };
  }

  /** Another tenant's stream, or a deleted one, reads as missing. */
  private find(streams: Map<string, StreamDefinition>, streamId: string): StreamDefinition {
    const stream = STREAM_ID_PATTERN.test(streamId) ? streams.get(streamId) : undefined;
    if (!stream) throw notFound('No such stream');
    return stream;
  }

  /** Decides one event on the tenant's streams and appends it; returns the stream afterwards, if named. */
  private async change(ctx: RequestContext, caller: Principal, decide: (streams: Map<string, StreamDefinition>) => SsfStreamEvent, streamId?: string): Promise<StreamDefinition | undefined> {
    const streamKey = ssfTenantStreamId(caller.tenantId);
    for (let attempt = 1; ; attempt++) {
      const { streams, events } = await this.load(caller.tenantId);
      const event = decide(streams);
      const last = events.at(-1);
      try {
        const position = await this.options.writer.append(streamKey, [event], eventMetadata(ctx, actorOf(caller), this.options.clock.now()), last ? last.revision : 'no_stream');
        evolveStreams(streams, { ...event, position });
        return streamId === undefined ? undefined : streams.get(streamId);
      } catch (error) {
        if (error instanceof WrongExpectedRevisionError && attempt < MAX_ATTEMPTS) continue;
        if (error instanceof WrongExpectedRevisionError) throw new KeyledgerError('CONFLICT', 'The streams changed concurrently; retry');
        throw error;
      }
    }
  }

  private describe(stream: StreamDefinition): StreamConfiguration {
    const base = this.options.publicUrl.value;
    const configuration: StreamConfiguration = {
      stream_id: stream.streamId,
      iss: base,
      aud: stream.audience,
      events_supported: EVENTS_SUPPORTED,
      events_requested: stream.eventsRequested,
      events_delivered: stream.eventsRequested.filter((type) => EVENTS_SUPPORTED.includes(type)),
      delivery: {
        method: stream.method,
        endpoint_url: stream.method === DELIVERY_PUSH ? stream.endpointUrl! : `${base}${SSF_PATHS.poll.replace(':streamId', stream.streamId)}`,
      },
    };
    if (stream.description !== null) configuration.description = stream.description;
    return configuration;
  }

  private statusOf(stream: StreamDefinition) {
    return { stream_id: stream.streamId, status: stream.status, ...(stream.statusReason ? { reason: stream.statusReason } : {}) };
  }

  private now(): string {
    return this.options.clock.now().toISOString();
  }
}
