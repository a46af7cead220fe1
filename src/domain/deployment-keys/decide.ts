import { conflict } from '../errors';
import type { DeploymentKeyEvent, WrappedDeploymentSecret } from './events';

export interface DeploymentKeysState {
  /** The latest wrapping of the secret; null before it exists. */
  wrapped: WrappedDeploymentSecret | null;
}

export const initialDeploymentKeysState: DeploymentKeysState = { wrapped: null };

export function evolve(state: DeploymentKeysState, event: DeploymentKeyEvent): DeploymentKeysState {
  switch (event.type) {
    case 'DeploymentSecretGenerated':
      // A second generation can only come from a store that ignored `no_stream`; the first one stays.
      return state.wrapped ? state : { wrapped: event.data.wrapped };
    case 'DeploymentSecretRewrapped':
      return { wrapped: event.data.wrapped };
  }
}

/** Create the secret unless the log has one: the existing one wins. */
export interface GenerateDeploymentSecret {
  type: 'GenerateDeploymentSecret';
  wrapped: WrappedDeploymentSecret;
}

/** Record the same secret wrapped by another (the new) master key. */
export interface RewrapDeploymentSecret {
  type: 'RewrapDeploymentSecret';
  wrapped: WrappedDeploymentSecret;
}

export type DeploymentKeyCommand = GenerateDeploymentSecret | RewrapDeploymentSecret;

export function decide(command: DeploymentKeyCommand, state: DeploymentKeysState, now: Date): DeploymentKeyEvent[] {
  const wrapped = { wrappingKeyId: command.wrapped.wrappingKeyId, blob: command.wrapped.blob };
  switch (command.type) {
    case 'GenerateDeploymentSecret':
      return state.wrapped ? [] : [{ type: 'DeploymentSecretGenerated', data: { wrapped, generatedAt: now.toISOString() } }];
    case 'RewrapDeploymentSecret':
      if (!state.wrapped) throw conflict('There is no deployment secret to re-wrap yet; start the gateway once to create it');
      // Already under this key: running the rotation twice records nothing.
      if (state.wrapped.wrappingKeyId === wrapped.wrappingKeyId) return [];
      return [
        {
          type: 'DeploymentSecretRewrapped',
          data: { wrapped, previousWrappingKeyId: state.wrapped.wrappingKeyId, rewrappedAt: now.toISOString() },
        },
      ];
  }
}
