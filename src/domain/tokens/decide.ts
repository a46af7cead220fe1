import { badInput, conflict, notFound } from '../errors';
import { LIMITS, optionalText, requireFutureInstant, requireName, requireRoles, requireTenantId } from '../validation';
import type { SecretOrigin, TokenEvent, TokenIssued, TokenKind, TokenRevoked } from './events';
import { TokenKinds } from './events';
import type { TokenState } from './state';

export interface IssueToken {
  type: 'IssueToken';
  tokenId: string;
  tenantId: string;
  kind: TokenKind;
  name: string;
  roles: readonly string[];
  expiresAt: Date | null;
  display: string;
  secretHash: string;
  lookupTag: string | null;
  origin: SecretOrigin;
}

export interface RevokeToken {
  type: 'RevokeToken';
  tokenId: string;
  reason: string | null;
}

export type TokenCommand = IssueToken | RevokeToken;

/** Pure: the events a command produces against the current state, or a KeyledgerError. */
export function decide(command: TokenCommand, state: TokenState, now: Date): TokenEvent[] {
  switch (command.type) {
    case 'IssueToken':
      return [issue(command, state, now)];
    case 'RevokeToken':
      return revoke(command, state, now);
  }
}

function issue(command: IssueToken, state: TokenState, now: Date): TokenIssued {
  if (state.status !== 'absent') throw conflict(`Token ${command.tokenId} already exists`);
  if (!TokenKinds.includes(command.kind)) throw badInput(`Unknown token kind ${command.kind}`, 'kind');
  const expiresAt = command.expiresAt ? requireFutureInstant(command.expiresAt, now, 'expiresAt') : null;
  return {
    type: 'TokenIssued',
    data: {
      tokenId: command.tokenId,
      tenantId: requireTenantId(command.tenantId),
      kind: command.kind,
      name: requireName(command.name),
      roles: requireRoles(command.roles),
      expiresAt: expiresAt ? expiresAt.toISOString() : null,
      display: command.display,
      secretHash: command.secretHash,
      lookupTag: command.lookupTag,
      origin: command.origin,
      issuedAt: now.toISOString(),
    },
  };
}

/** Revoking a revoked token changes nothing and is not an error, so retries are safe. */
function revoke(command: RevokeToken, state: TokenState, now: Date): TokenRevoked[] {
  if (state.status === 'absent') throw notFound(`Token ${command.tokenId} not found`);
  const reason = optionalText(command.reason, 'reason', LIMITS.reasonLength);
  if (state.status === 'revoked') return [];
  return [
    {
      type: 'TokenRevoked',
      data: { tokenId: state.tokenId, tenantId: state.tenantId, reason, revokedAt: now.toISOString() },
    },
  ];
}
