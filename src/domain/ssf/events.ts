/**
 * Shared Signals Framework streams: what a receiver asked for, and how far delivery has
 * come. A tenant's stream definitions share one log stream, so listing them is one read and
 * a receiver can never reach another tenant's; each stream's delivery (its lease, its
 * position, its acknowledgements) has a log stream of its own, so replicas settle who
 * delivers with the store's optimistic concurrency. None of these events holds a secret.
 */
export const DELIVERY_PUSH = 'urn:ietf:rfc:8935';
export const DELIVERY_POLL = 'urn:ietf:rfc:8936';
export type DeliveryMethod = typeof DELIVERY_PUSH | typeof DELIVERY_POLL;

export const CAEP_CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';
export const RISC_CREDENTIAL_COMPROMISE = 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise';
export const SSF_VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
/** The event types a receiver may request; verification events are delivered to every stream. */
export const EVENTS_SUPPORTED: readonly string[] = [CAEP_CREDENTIAL_CHANGE, RISC_CREDENTIAL_COMPROMISE];

export type StreamStatus = 'enabled' | 'paused' | 'disabled';
export const STREAM_STATUSES: readonly StreamStatus[] = ['enabled', 'paused', 'disabled'];

export interface SsfStreamCreated {
  type: 'SsfStreamCreated';
  data: {
    streamId: string;
    tenantId: string;
    audience: string;
    method: DeliveryMethod;
    /** The receiver's push endpoint; null for poll streams. */
    endpointUrl: string | null;
    eventsRequested: string[];
    description: string | null;
    createdAt: string;
  };
}

export interface SsfStreamUpdated {
  type: 'SsfStreamUpdated';
  data: {
    streamId: string;
    tenantId: string;
    changes: { eventsRequested?: string[]; description?: string | null; endpointUrl?: string };
    updatedAt: string;
  };
}

export interface SsfStreamStatusChanged {
  type: 'SsfStreamStatusChanged';
  data: { streamId: string; tenantId: string; status: StreamStatus; reason: string | null; changedAt: string };
}

export interface SsfStreamDeleted {
  type: 'SsfStreamDeleted';
  data: { streamId: string; tenantId: string; deletedAt: string };
}

/** Delivered in log order like any other SET, so it proves the whole path to the receiver. */
export interface SsfVerificationRequested {
  type: 'SsfVerificationRequested';
  data: { streamId: string; tenantId: string; state: string | null; requestedAt: string };
}

export type SsfStreamEvent = SsfStreamCreated | SsfStreamUpdated | SsfStreamStatusChanged | SsfStreamDeleted | SsfVerificationRequested;
export const SSF_STREAM_EVENT_TYPES: readonly SsfStreamEvent['type'][] = [
  'SsfStreamCreated',
  'SsfStreamUpdated',
  'SsfStreamStatusChanged',
  'SsfStreamDeleted',
  'SsfVerificationRequested',
];

/** One replica delivers a push stream until `leasedUntil`; another may take over after it. */
export interface SsfDeliveryLeased {
  type: 'SsfDeliveryLeased';
  data: { streamId: string; tenantId: string; holder: string; leasedUntil: string };
}

/** The receiver accepted every SET made from events up to this log position. */
export interface SsfSetsDelivered {
  type: 'SsfSetsDelivered';
  data: { streamId: string; tenantId: string; position: string; jtis: string[] };
}

/**
 * A poll receiver's acknowledgements: every SET up to `ackedThrough` is acknowledged, and
 * beyond it those in `ackedAbove` (acknowledged out of order).
 */
export interface SsfSetsAcknowledged {
  type: 'SsfSetsAcknowledged';
  data: { streamId: string; tenantId: string; ackedThrough: string | null; ackedAbove: string[] };
}

export type SsfDeliveryEvent = SsfDeliveryLeased | SsfSetsDelivered | SsfSetsAcknowledged;
export const SSF_DELIVERY_EVENT_TYPES: readonly SsfDeliveryEvent['type'][] = ['SsfDeliveryLeased', 'SsfSetsDelivered', 'SsfSetsAcknowledged'];

export const ssfTenantStreamId = (tenantId: string) => `ssf-streams-${tenantId}`;
export const ssfDeliveryStreamId = (streamId: string) => `ssf-delivery-${streamId}`;

/** A stream as its events left it: what it was created with, as since changed, and its status. */
export interface StreamDefinition extends Omit<SsfStreamCreated['data'], 'createdAt'> {
  status: StreamStatus;
  statusReason: string | null;
  /** Log position of the creation: the stream carries events appended after it. */
  createdPosition: bigint;
  /** Each status with the log position from which it holds, oldest first. */
  statusHistory: Array<{ position: bigint; status: StreamStatus }>;
}

/** Folds a tenant's stream events (in log order) into its live streams. */
export function evolveStreams(streams: Map<string, StreamDefinition>, event: { type: string; data: unknown; position: bigint }): void {
  const typed = event as unknown as SsfStreamEvent & { position: bigint };
  switch (typed.type) {
    case 'SsfStreamCreated': {
      const { data } = typed;
      streams.set(data.streamId, {
        streamId: data.streamId,
        tenantId: data.tenantId,
        audience: data.audience,
        method: data.method,
        endpointUrl: data.endpointUrl,
        eventsRequested: data.eventsRequested,
        description: data.description,
        status: 'enabled',
        statusReason: null,
        createdPosition: typed.position,
        statusHistory: [{ position: typed.position, status: 'enabled' }],
      });
      return;
    }
    case 'SsfStreamUpdated': {
      const stream = streams.get(typed.data.streamId);
      if (!stream) return;
      const { changes } = typed.data;
      if (changes.eventsRequested !== undefined) stream.eventsRequested = changes.eventsRequested;
      if (changes.description !== undefined) stream.description = changes.description;
      if (changes.endpointUrl !== undefined) stream.endpointUrl = changes.endpointUrl;
      return;
    }
    case 'SsfStreamStatusChanged': {
      const stream = streams.get(typed.data.streamId);
      if (!stream) return;
      stream.status = typed.data.status;
      stream.statusReason = typed.data.reason;
      stream.statusHistory.push({ position: typed.position, status: typed.data.status });
      return;
    }
    case 'SsfStreamDeleted':
      streams.delete(typed.data.streamId);
      return;
    default:
      return;
  }
}

export interface DeliveryState {
  /** Revision of the delivery stream's last event, for the next append's expected revision. */
  revision: number | 'no_stream';
  /** Push: SETs up to here are delivered. Poll: SETs up to here are acknowledged. */
  position: bigint | null;
  ackedAbove: Set<string>;
  lease: { holder: string; leasedUntil: Date } | null;
}

export function deliveryStateOf(events: ReadonlyArray<{ type: string; data: unknown; revision: number }>): DeliveryState {
  const state: DeliveryState = { revision: 'no_stream', position: null, ackedAbove: new Set(), lease: null };
  for (const event of events as ReadonlyArray<SsfDeliveryEvent & { revision: number }>) {
    state.revision = event.revision;
    if (event.type === 'SsfDeliveryLeased') state.lease = { holder: event.data.holder, leasedUntil: new Date(event.data.leasedUntil) };
    if (event.type === 'SsfSetsDelivered') state.position = BigInt(event.data.position);
    if (event.type === 'SsfSetsAcknowledged') {
      state.position = event.data.ackedThrough === null ? null : BigInt(event.data.ackedThrough);
      state.ackedAbove = new Set(event.data.ackedAbove);
    }
  }
  return state;
}
