import { ErrorType, type RecordedEvent as ClientRecordedEvent } from '@eventstore/db-client';
import { EventStoreError, EventStoreUnavailableError, type EventMetadata, type RecordedEvent } from '../port';

/**
 * EventStoreDB reports `ulong.MaxValue` as the position of an event read from a stream by
 * servers that do not look positions up for stream reads (before 22.10).
 */
const UNKNOWN_POSITION = 2n ** 64n - 1n;

/**
 * Streams of the data key store (`EventStoreDbDataKeyStore`). They share the server with the
 * log but are not part of it: a subscriber never receives them, as in the embedded mode where
 * data keys live in a file of their own.
 */
export const DATA_KEY_STREAM_PREFIX = 'datakey-';

/**
 * Events that are not keyledger's log: what the server writes itself (statistics, settings,
 * projections, links, under `$`) and the data key streams.
 */
export function isSystemEvent(event: { type: string; streamId: string }): boolean {
  return event.type.startsWith('$') || event.streamId.startsWith('$') || event.streamId.startsWith(DATA_KEY_STREAM_PREFIX);
}

export function toRecordedEvent(event: ClientRecordedEvent): RecordedEvent {
  const position = event.position?.commit;
  if (position === undefined || position === UNKNOWN_POSITION) {
    throw new EventStoreError(
      `EventStoreDB did not report the log position of event ${event.id} in "${event.streamId}"; ` +
        'keyledger needs a server that reports positions on stream reads (EventStoreDB 22.10 or later)',
    );
  }
  return {
    id: event.id,
    type: event.type,
    streamId: event.streamId,
    revision: Number(event.revision),
    position,
    data: (event.data ?? {}) as Record<string, unknown>,
    metadata: (event.metadata ?? {}) as EventMetadata,
    recordedAt: event.created,
  };
}

function errorType(error: unknown): string | undefined {
  const type = (error as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}

/** gRPC status codes as numbers, so raw channel errors are recognised too. */
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

export function isWrongExpectedVersion(error: unknown): error is { actualVersion?: bigint | 'no_stream' | 'any' | 'stream_exists' } {
  return errorType(error) === ErrorType.WRONG_EXPECTED_VERSION;
}

export function isStreamNotFound(error: unknown): boolean {
  return errorType(error) === ErrorType.STREAM_NOT_FOUND;
}

export function isStreamDeleted(error: unknown): boolean {
  return errorType(error) === ErrorType.STREAM_DELETED;
}

export function isDeadlineExceeded(error: unknown): boolean {
  return errorType(error) === ErrorType.DEADLINE_EXCEEDED || (error as { code?: unknown } | null)?.code === GRPC_DEADLINE_EXCEEDED;
}

function isConnectionFailure(error: unknown): boolean {
  const type = errorType(error);
  if (type === ErrorType.UNAVAILABLE || type === ErrorType.CANCELLED || type === ErrorType.NOT_LEADER) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === GRPC_UNAVAILABLE || code === GRPC_CANCELLED || code === 'ECONNREFUSED' || code === 'ECONNRESET';
}

/** Errors a retry cannot fix: the server refuses this client, or sends what the port cannot represent. */
export function isPermanentFailure(error: unknown): boolean {
  if (error instanceof EventStoreError) return !(error instanceof EventStoreUnavailableError);
  return errorType(error) === ErrorType.ACCESS_DENIED;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A client failure other than a concurrency conflict, as the port's unavailability error.
 * Errors already in the port's terms pass through.
 */
export function translateError(operation: string, error: unknown): EventStoreError {
  if (error instanceof EventStoreError) return error;
  if (isDeadlineExceeded(error)) {
    return new EventStoreUnavailableError(`EventStoreDB did not answer ${operation} before its deadline; the outcome is unknown`, {
      cause: error,
    });
  }
  if (isConnectionFailure(error)) {
    return new EventStoreUnavailableError(`EventStoreDB is unreachable (${operation}): ${describe(error)}`, { cause: error });
  }
  return new EventStoreUnavailableError(`EventStoreDB refused ${operation}: ${describe(error)}`, { cause: error });
}
