import { requireTenantId } from '../validation';
import { badInput, conflict, KeyledgerError, notFound } from '../errors';
import type { SealedSecret } from '../tokens/events';
import type { ConnectionCreated, ConnectionChanges, ConnectionDeleted, ConnectionEvent, ConnectionUpdated } from './events';
import { requireAllowedDomain, requireConnectionName, requireHeaderName, requireIntegration } from './rules';
import { nextGeneration, type ConnectionState } from './state';

export interface CreateConnection {
  type: 'CreateConnection';
  connectionId: string;
  tenantId: string;
  integration: string;
  name: string;
  headerName: string;
  allowedDomain: string;
  /** The key, already sealed under a new data key: the decider never sees it in clear. */
  sealedApiKey: SealedSecret;
}

export interface UpdateConnection {
  type: 'UpdateConnection';
  /** Undefined leaves a field as it is. */
  headerName?: string;
  allowedDomain?: string;
  /** A replacement key, sealed under a new data key. */
  sealedApiKey?: SealedSecret;
}

export interface DeleteConnection {
  type: 'DeleteConnection';
}

export type ConnectionCommand = CreateConnection | UpdateConnection | DeleteConnection;

export const CONNECTION_NOT_FOUND = 'Connection does not exist';

/**
 * The connection rules. A name is unique within its tenant and integration: the stream is
 * addressed by all three, and a creation is decided on the stream's state and appended at
 * the revision it was decided on, so of two concurrent creations one fails with CONFLICT.
 */
export function decide(command: ConnectionCommand, state: ConnectionState, now: Date): ConnectionEvent[] {
  switch (command.type) {
    case 'CreateConnection':
      return [create(command, state, now)];
    case 'UpdateConnection':
      return update(command, state, now);
    case 'DeleteConnection':
      return [remove(state, now)];
  }
}

function create(command: CreateConnection, state: ConnectionState, now: Date): ConnectionCreated {
  const integration = requireIntegration(command.integration);
  const name = requireConnectionName(command.name);
  const fields = {
    tenantId: requireTenantId(command.tenantId),
    integration,
    name,
    headerName: requireHeaderName(command.headerName),
    allowedDomain: requireAllowedDomain(command.allowedDomain),
    sealedApiKey: requireSealed(command.sealedApiKey),
  };
  if (state.status === 'active') throw conflict(`A connection named ${name} already exists in integration ${integration}`);
  return {
    type: 'ConnectionCreated',
    data: { connectionId: command.connectionId, generation: nextGeneration(state), ...fields, createdAt: now.toISOString() },
  };
}

function update(command: UpdateConnection, state: ConnectionState, now: Date): ConnectionUpdated[] {
  if (command.headerName === undefined && command.allowedDomain === undefined && command.sealedApiKey === undefined) {
    throw badInput('Give at least one of headerName, apiKey or allowedDomain to change');
  }
  const headerName = command.headerName === undefined ? undefined : requireHeaderName(command.headerName);
  const allowedDomain = command.allowedDomain === undefined ? undefined : requireAllowedDomain(command.allowedDomain);
  const sealedApiKey = command.sealedApiKey === undefined ? undefined : requireSealed(command.sealedApiKey);
  if (state.status !== 'active') throw notFound(CONNECTION_NOT_FOUND);

  const changes: ConnectionChanges = {};
  // Where the key goes (host and header) is part of what its owner entered it for. Otherwise anyone who may
  // write could point a stored key at a site of their own, or into a header that the site logs or echoes.
  if (headerName !== undefined && headerName !== state.headerName) {
    if (!sealedApiKey) throw apiKeyRequired('headerName', 'in a header');
    changes.headerName = headerName;
  }
  if (allowedDomain !== undefined && allowedDomain !== state.allowedDomain) {
    if (!sealedApiKey) throw apiKeyRequired('allowedDomain', 'to a domain');
    changes.allowedDomain = allowedDomain;
  }
  if (sealedApiKey) changes.sealedApiKey = sealedApiKey;
  if (Object.keys(changes).length === 0) return [];
  return [
    {
      type: 'ConnectionUpdated',
      data: {
        connectionId: state.connectionId,
        tenantId: state.tenantId,
        integration: state.integration,
        name: state.name,
        changes,
        ...(sealedApiKey ? { supersededDataKeyId: state.sealedApiKey.dataKeyId } : {}),
        updatedAt: now.toISOString(),
      },
    },
  ];
}

function remove(state: ConnectionState, now: Date): ConnectionDeleted {
  if (state.status !== 'active') throw notFound(CONNECTION_NOT_FOUND);
  return {
    type: 'ConnectionDeleted',
    data: {
      connectionId: state.connectionId,
      tenantId: state.tenantId,
      integration: state.integration,
      name: state.name,
      dataKeyId: state.sealedApiKey.dataKeyId,
      deletedAt: now.toISOString(),
    },
  };
}

/** Only the two named fields reach the event, so nothing else a caller adds can slip in. */
function requireSealed(sealed: SealedSecret): SealedSecret {
  if (!sealed || typeof sealed.dataKeyId !== 'string' || typeof sealed.ciphertext !== 'string' || !sealed.dataKeyId || !sealed.ciphertext) {
    throw badInput('The API key was not sealed', 'apiKey');
  }
  return { dataKeyId: sealed.dataKeyId, ciphertext: sealed.ciphertext };
}

function apiKeyRequired(field: 'headerName' | 'allowedDomain', where: string): KeyledgerError {
  return new KeyledgerError('BAD_USER_INPUT', `Changing ${field} requires giving apiKey again: a stored key is never sent ${where} it was not entered for`, {
    field: 'apiKey',
    reason: 'API_KEY_REQUIRED',
  });
}
