import type { SealedSecret } from '../tokens/events';
import type { ConnectionEvent } from './events';

export interface ConnectionFacts {
  connectionId: string;
  generation: number;
  tenantId: string;
  integration: string;
  name: string;
  headerName: string;
  allowedDomain: string;
  sealedApiKey: SealedSecret;
  createdAt: string;
  updatedAt: string;
}

export type ConnectionState =
  | { status: 'absent' }
  | ({ status: 'active' } & ConnectionFacts)
  /** Deleted; the name may be used again, by the next generation. */
  | { status: 'deleted'; generation: number };

export const initialConnectionState: ConnectionState = { status: 'absent' };

export function evolve(state: ConnectionState, event: ConnectionEvent): ConnectionState {
  switch (event.type) {
    case 'ConnectionCreated': {
      const { connectionId, generation, tenantId, integration, name, headerName, allowedDomain, sealedApiKey, createdAt } = event.data;
      return {
        status: 'active',
        connectionId,
        generation,
        tenantId,
        integration,
        name,
        headerName,
        allowedDomain,
        sealedApiKey,
        createdAt,
        updatedAt: createdAt,
      };
    }
    case 'ConnectionUpdated': {
      if (state.status !== 'active' || state.connectionId !== event.data.connectionId) return state;
      const { changes, updatedAt } = event.data;
      return {
        ...state,
        headerName: changes.headerName ?? state.headerName,
        allowedDomain: changes.allowedDomain ?? state.allowedDomain,
        sealedApiKey: changes.sealedApiKey ?? state.sealedApiKey,
        updatedAt,
      };
    }
    case 'ConnectionDeleted':
      if (state.status !== 'active' || state.connectionId !== event.data.connectionId) return state;
      return { status: 'deleted', generation: state.generation };
  }
}

export function foldConnectionEvents(events: readonly ConnectionEvent[]): ConnectionState {
  return events.reduce(evolve, initialConnectionState);
}

/** The generation the next creation gets. */
export function nextGeneration(state: ConnectionState): number {
  return state.status === 'absent' ? 1 : state.generation + 1;
}
