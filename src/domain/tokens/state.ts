import type { TokenEvent, TokenKind } from './events';

export type TokenState =
  | { status: 'absent' }
  | {
      status: 'active' | 'revoked';
      tokenId: string;
      tenantId: string;
      kind: TokenKind;
      name: string;
      roles: string[];
      expiresAt: string | null;
      revokedAt: string | null;
    };

export const initialTokenState: TokenState = { status: 'absent' };

export function evolve(state: TokenState, event: TokenEvent): TokenState {
  switch (event.type) {
    case 'TokenIssued': {
      const { tokenId, tenantId, kind, name, roles, expiresAt } = event.data;
      return { status: 'active', tokenId, tenantId, kind, name, roles, expiresAt, revokedAt: null };
    }
    case 'TokenRevoked':
      if (state.status === 'absent') return state;
      return { ...state, status: 'revoked', revokedAt: event.data.revokedAt };
  }
}

export function foldTokenEvents(events: readonly TokenEvent[]): TokenState {
  return events.reduce(evolve, initialTokenState);
}
