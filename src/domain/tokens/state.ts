import type { TokenChanges, TokenEvent, TokenKind } from './events';
import type { Credits, TokenRateLimit } from './usage-controls';

export interface TokenFacts {
  tokenId: string;
  tenantId: string;
  kind: TokenKind;
  name: string;
  roles: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  code: string | null;
  botName: string | null;
  avatarUrl: string | null;
  ownerId: string | null;
  integrationId: string | null;
  /** False while the token is paused by a `TokenDisabled`. */
  enabled: boolean;
  meta: Record<string, unknown> | null;
  externalId: string | null;
  credits: Credits | null;
  rateLimits: TokenRateLimit[];
}

export type TokenState =
  | { status: 'absent' }
  /** The id was reserved for an issue that never happened; it can never be issued. */
  | { status: 'abandoned'; tokenId: string }
  | ({ status: 'active' | 'revoked' } & TokenFacts);

export const initialTokenState: TokenState = { status: 'absent' };

export function evolve(state: TokenState, event: TokenEvent): TokenState {
  switch (event.type) {
    case 'TokenIssued': {
      const { tokenId, tenantId, kind, name, roles, expiresAt } = event.data;
      return {
        status: 'active',
        tokenId,
        tenantId,
        kind,
        name,
        roles,
        expiresAt,
        revokedAt: null,
        code: event.data.code ?? null,
        botName: event.data.botName ?? null,
        avatarUrl: event.data.avatarUrl ?? null,
        ownerId: event.data.ownerId ?? null,
        integrationId: event.data.integrationId ?? null,
        enabled: true,
        meta: event.data.meta ?? null,
        externalId: event.data.externalId ?? null,
        credits: event.data.credits ?? null,
        rateLimits: event.data.rateLimits ?? [],
      };
    }
    case 'TokenUpdated':
      if (state.status !== 'active' && state.status !== 'revoked') return state;
      return applyChanges(state, event.data.changes);
    case 'TokenRotated':
      // The secret is not part of the state; a rotation changes nothing the rules look at.
      return state;
    case 'TokenRevoked':
      if (state.status !== 'active' && state.status !== 'revoked') return state;
      return { ...state, status: 'revoked', revokedAt: event.data.revokedAt };
    case 'TokenDisabled':
    case 'TokenEnabled':
      if (state.status !== 'active' && state.status !== 'revoked') return state;
      return { ...state, enabled: event.type === 'TokenEnabled' };
    case 'TokenIssueAbandoned':
      if (state.status !== 'absent') return state;
      return { status: 'abandoned', tokenId: event.data.tokenId };
  }
}

function applyChanges<State extends TokenFacts>(state: State, changes: TokenChanges): State {
  const next = { ...state };
  if (changes.name !== undefined) next.name = changes.name;
  if (changes.roles !== undefined) next.roles = changes.roles;
  if (changes.botName !== undefined) next.botName = changes.botName;
  if (changes.avatarUrl !== undefined) next.avatarUrl = changes.avatarUrl;
  if (changes.expiresAt !== undefined) next.expiresAt = changes.expiresAt;
  if (changes.meta !== undefined) next.meta = changes.meta;
  if (changes.externalId !== undefined) next.externalId = changes.externalId;
  if (changes.credits !== undefined) next.credits = changes.credits;
  if (changes.rateLimits !== undefined) next.rateLimits = changes.rateLimits;
  return next;
}

export function foldTokenEvents(events: readonly TokenEvent[]): TokenState {
  return events.reduce(evolve, initialTokenState);
}

