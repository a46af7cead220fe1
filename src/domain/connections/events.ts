import type { SealedSecret } from '../tokens/events';

/**
 * API-key connection events. The API key appears only as ciphertext under a data key of its
 * own (`sealedApiKey`); the data key lives outside the log, so destroying it shreds the key
 * while the log stays as it was.
 *
 * A connection's stream is addressed by tenant, integration and name. It outlives the
 * connection: after `ConnectionDeleted` the same name can be created again, continuing the
 * stream with a new generation and a new `connectionId`.
 */
export interface ConnectionCreated {
  type: 'ConnectionCreated';
  data: {
    /** Unique per generation; binds the ciphertext, so one generation's key never opens as another's. */
    connectionId: string;
    generation: number;
    tenantId: string;
    integration: string;
    name: string;
    headerName: string;
    allowedDomain: string;
    sealedApiKey: SealedSecret;
    createdAt: string;
  };
}

/** Only the fields that changed are present. */
export interface ConnectionChanges {
  headerName?: string;
  allowedDomain?: string;
  sealedApiKey?: SealedSecret;
}

export interface ConnectionUpdated {
  type: 'ConnectionUpdated';
  data: {
    connectionId: string;
    tenantId: string;
    integration: string;
    name: string;
    changes: ConnectionChanges;
    /** With a new key: the data key it replaces, destroyed once this event is recorded. */
    supersededDataKeyId?: string;
    updatedAt: string;
  };
}

export interface ConnectionDeleted {
  type: 'ConnectionDeleted';
  data: {
    connectionId: string;
    tenantId: string;
    integration: string;
    name: string;
    /** The data key destroyed with the connection. */
    dataKeyId: string;
    deletedAt: string;
  };
}

/**
 * A use of a connection's key, for the audit history: who (the event's actor), when, which
 * connection, which host. Never the key, nor the rest of the URL. Recorded in the tenant's
 * `access-<tenant>` stream, not in the connection's, so a busy connection neither grows its
 * own stream nor contends with its writers.
 */
export interface ConnectionUsed {
  type: 'ConnectionUsed';
  data: {
    connectionId: string;
    tenantId: string;
    integration: string;
    name: string;
    host: string;
    usedAt: string;
  };
}

export type ConnectionEvent = ConnectionCreated | ConnectionUpdated | ConnectionDeleted;
export const CONNECTION_EVENT_TYPES: readonly ConnectionEvent['type'][] = ['ConnectionCreated', 'ConnectionUpdated', 'ConnectionDeleted'];

/** Tenant ids, integrations and names cannot hold `/`, so the address is unambiguous. */
export const connectionStreamId = (tenantId: string, integration: string, name: string) => `connection-${tenantId}/${integration}/${name}`;

/** A record of access without a tenant (a credential nobody issued) goes to `access`, which no tenant's stream can be named. */
export const accessStreamId = (tenantId: string | null) => (tenantId === null ? 'access' : `access-${tenantId}`);
