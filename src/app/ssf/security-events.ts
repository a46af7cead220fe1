import { createHash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import {
  CAEP_CREDENTIAL_CHANGE,
  RISC_CREDENTIAL_COMPROMISE,
  SSF_VERIFICATION,
  type SsfStreamStatusChanged,
  type SsfVerificationRequested,
  type StreamDefinition,
  type StreamStatus,
} from '../../domain/ssf/events';
import type { TokenLeakReported } from '../../domain/leaks/events';
import { LEAKED_REASON } from '../../domain/tokens/decide';
import type { TokenRevoked, TokenRotated } from '../../domain/tokens/events';
import type { EventStore, RecordedEvent } from '../../eventstore/port';

/** The log events a stream's SETs are made from, in log order. */
export const SET_SOURCE_EVENT_TYPES: readonly string[] = ['TokenRevoked', 'TokenRotated', 'TokenLeakReported', 'SsfStreamStatusChanged', 'SsfVerificationRequested'];

/** keyledger's credentials are API keys to a receiver, whatever their kind. */
const CREDENTIAL_TYPE = 'api-key';

export interface SecurityEvent {
  jti: string;
  /** The claims to sign, without `iss`, which the signer adds. */
  claims: JWTPayload;
}

/** The SETs made from one log event, which are delivered and acknowledged together. */
export interface SetGroup {
  position: bigint;
  sets: SecurityEvent[];
}

/** The same event on the same stream always makes the same jti, so a redelivery is recognisable as one. */
function jtiOf(streamId: string, eventId: string, eventType: string): string {
  return createHash('sha256').update(`${streamId}\n${eventId}\n${eventType}`).digest('base64url').slice(0, 32);
}

function initiatingEntity(event: RecordedEvent): string {
  return event.metadata.actor.type === 'system' ? 'system' : 'admin';
}

const seconds = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

/**
 * The subject of a credential's events: its id and its tenant, never its secret. A complex
 * subject (RFC 9493) with the tenant as SSF defines it and the credential as an opaque id.
 */
function credentialSubject(tokenId: string, tenantId: string) {
  return { format: 'complex', credential: { format: 'opaque', id: tokenId }, tenant: { format: 'opaque', id: tenantId } };
}

/** The SETs one log event makes for one stream: none when it is another tenant's or not requested. */
export function securityEventsOf(event: RecordedEvent, stream: StreamDefinition): SecurityEvent[] {
  const base = (eventType: string, occurredAt: string, subject: object, body: object): SecurityEvent => {
    const jti = jtiOf(stream.streamId, event.id, eventType);
    return { jti, claims: { jti, aud: stream.audience, iat: seconds(occurredAt), txn: event.id, sub_id: subject, events: { [eventType]: body } } };
  };
  const wanted = (eventType: string) => stream.eventsRequested.includes(eventType);
  switch (event.type) {
    case 'SsfVerificationRequested': {
      const data = event.data as SsfVerificationRequested['data'];
      if (data.streamId !== stream.streamId) return [];
      return [base(SSF_VERIFICATION, data.requestedAt, { format: 'opaque', id: stream.streamId }, data.state === null ? {} : { state: data.state })];
    }
    case 'TokenRevoked': {
      const data = event.data as TokenRevoked['data'];
      if (data.tenantId !== stream.tenantId) return [];
      const subject = credentialSubject(data.tokenId, data.tenantId);
      const timestamp = seconds(data.revokedAt);
      const reason = data.reason ? { reason_admin: { en: data.reason } } : {};
      const sets: SecurityEvent[] = [];
      if (wanted(CAEP_CREDENTIAL_CHANGE)) {
        sets.push(
          base(CAEP_CREDENTIAL_CHANGE, data.revokedAt, subject, {
            credential_type: CREDENTIAL_TYPE,
            change_type: 'revoke',
            event_timestamp: timestamp,
            initiating_entity: initiatingEntity(event),
            ...reason,
          }),
        );
      }
      if (data.reason === LEAKED_REASON && wanted(RISC_CREDENTIAL_COMPROMISE)) {
        sets.push(base(RISC_CREDENTIAL_COMPROMISE, data.revokedAt, subject, { credential_type: CREDENTIAL_TYPE, event_timestamp: timestamp, ...reason }));
      }
      return sets;
    }
    case 'TokenRotated': {
      const data = event.data as TokenRotated['data'];
      if (data.tenantId !== stream.tenantId || !wanted(CAEP_CREDENTIAL_CHANGE)) return [];
      return [
        base(CAEP_CREDENTIAL_CHANGE, data.rotatedAt, credentialSubject(data.tokenId, data.tenantId), {
          credential_type: CREDENTIAL_TYPE,
          change_type: 'update',
          event_timestamp: seconds(data.rotatedAt),
          initiating_entity: initiatingEntity(event),
        }),
      ];
    }
    case 'TokenLeakReported': {
      // A leak the policy leaves valid (notify): the credential is compromised though not revoked.
      const data = event.data as TokenLeakReported['data'];
      if (data.tenantId !== stream.tenantId || !wanted(RISC_CREDENTIAL_COMPROMISE)) return [];
      return [
        base(RISC_CREDENTIAL_COMPROMISE, data.reportedAt, credentialSubject(data.tokenId, data.tenantId), {
          credential_type: CREDENTIAL_TYPE,
          event_timestamp: seconds(data.reportedAt),
          reason_admin: { en: `${LEAKED_REASON}: reported by ${data.source}, left valid by policy` },
        }),
      ];
    }
    default:
      return [];
  }
}

export interface PendingRead {
  groups: SetGroup[];
  /** More SETs wait beyond `limit`. */
  more: boolean;
}

/**
 * The stream's SETs from the log after `after`, up to `limit` groups. Status changes are
 * read in the same order: events while the stream is disabled are dropped, events while it
 * is paused are held, so a read stops before the first of them that is still paused.
 */
export async function readPendingSets(
  store: Pick<EventStore, 'subscribe'>,
  stream: StreamDefinition,
  after: bigint | null,
  limit: number,
  skip: (set: SecurityEvent) => boolean = () => false,
): Promise<PendingRead> {
  const from = after === null || after < stream.createdPosition ? stream.createdPosition : after;
  let status: StreamStatus = 'enabled';
  for (const entry of stream.statusHistory) if (entry.position <= from) status = entry.status;
  const groups: SetGroup[] = [];
  let held: SetGroup[] = [];
  let more = false;
  const subscription = store.subscribe({ fromPosition: from, eventTypes: SET_SOURCE_EVENT_TYPES, maxBatchSize: 500 });
  try {
    read: for await (const message of subscription) {
      if (message.type === 'caughtUp') break;
      if (message.type === 'disconnected') throw message.error;
      for (const event of message.events) {
        if (event.type === 'SsfStreamStatusChanged') {
          const data = event.data as SsfStreamStatusChanged['data'];
          if (data.streamId !== stream.streamId) continue;
          if (data.status === 'enabled') groups.push(...held);
          held = [];
          status = data.status;
          if (groups.length >= limit) {
            more = true;
            break read;
          }
          continue;
        }
        if (status === 'disabled') continue;
        const sets = securityEventsOf(event, stream).filter((set) => !skip(set));
        if (sets.length === 0) continue;
        const target = status === 'paused' ? held : groups;
        if (groups.length + (status === 'paused' ? held.length : 0) >= limit) {
          more = true;
          break read;
        }
        target.push({ position: event.position, sets });
      }
    }
  } finally {
    await subscription.close();
  }
  return { groups: groups.slice(0, limit), more: more || groups.length > limit };
}
