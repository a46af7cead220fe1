import { conflict, forbidden, notFound, unauthenticated } from '../errors';
import { LIMITS, optionalText, requireTenantId } from '../validation';
import { ACCESS_TOKEN_TTL_MS, type AccessTokenEvent, type AccessTokenIssued, type AccessTokenRevoked } from './events';
import { allowsPair, type PartnerCredentialState } from './credential';

export type AccessTokenState =
  | { status: 'absent' }
  | {
      status: 'issued' | 'revoked';
      jti: string;
      credentialId: string;
      tenantId: string;
      subTenantId: string;
      expiresAt: string;
      issuer: string | null;
    };

export const initialAccessTokenState: AccessTokenState = { status: 'absent' };

export function evolveAccessToken(state: AccessTokenState, event: AccessTokenEvent): AccessTokenState {
  switch (event.type) {
    case 'AccessTokenIssued': {
      const { jti, credentialId, tenantId, subTenantId, expiresAt, issuer } = event.data;
      return { status: 'issued', jti, credentialId, tenantId, subTenantId, expiresAt, issuer: issuer ?? null };
    }
    case 'AccessTokenRevoked':
      if (state.status === 'absent') return state;
      return { ...state, status: 'revoked' };
  }
}

export function foldAccessTokenEvents(events: readonly AccessTokenEvent[]): AccessTokenState {
  return events.reduce(evolveAccessToken, initialAccessTokenState);
}

/**
 * Exchange an authenticated partner credential for an access token. The caller has already
 * checked the secret; the rules here are about what the credential may still do.
 */
export interface IssueAccessToken {
  type: 'IssueAccessToken';
  jti: string;
  kid: string;
  /** The `iss` the token will carry. */
  issuer: string;
  tenantId: string;
  subTenantId: string;
  /** The credential's state, loaded from its own stream. */
  credential: PartnerCredentialState;
}

export interface RevokeAccessToken {
  type: 'RevokeAccessToken';
  jti: string;
  reason: string | null;
}

export type AccessTokenCommand = IssueAccessToken | RevokeAccessToken;

export function decideAccessToken(command: AccessTokenCommand, state: AccessTokenState, now: Date): AccessTokenEvent[] {
  switch (command.type) {
    case 'IssueAccessToken':
      return [issue(command, state, now)];
    case 'RevokeAccessToken':
      return revoke(command, state, now);
  }
}

function issue(command: IssueAccessToken, state: AccessTokenState, now: Date): AccessTokenIssued {
  const { credential } = command;
  if (credential.status === 'absent') throw unauthenticated('The partner credential is not valid');
  if (credential.status === 'revoked') throw unauthenticated('The partner credential has been revoked');
  const tenantId = requireTenantId(command.tenantId, 'tenantId');
  const subTenantId = requireTenantId(command.subTenantId, 'subTenantId');
  if (!allowsPair(credential, tenantId, subTenantId)) {
    throw forbidden('The partner credential is not allowed for this tenant and subtenant');
  }
  if (state.status !== 'absent') throw conflict(`Access token ${command.jti} already exists`);
  // JWT times are whole seconds; the event holds exactly the instants the token carries.
  const issuedAt = Math.floor(now.getTime() / 1000) * 1000;
  return {
    type: 'AccessTokenIssued',
    data: {
      jti: command.jti,
      credentialId: credential.credentialId,
      tenantId,
      subTenantId,
      kid: command.kid,
      issuer: command.issuer,
      issuedAt: new Date(issuedAt).toISOString(),
      expiresAt: new Date(issuedAt + ACCESS_TOKEN_TTL_MS).toISOString(),
    },
  };
}

/** Revoking a revoked or expired token changes nothing: there is nothing left to stop. */
function revoke(command: RevokeAccessToken, state: AccessTokenState, now: Date): AccessTokenRevoked[] {
  if (state.status === 'absent') throw notFound(`Access token ${command.jti} not found`);
  const reason = optionalText(command.reason, 'reason', LIMITS.reasonLength);
  if (state.status === 'revoked' || new Date(state.expiresAt).getTime() <= now.getTime()) return [];
  return [
    {
      type: 'AccessTokenRevoked',
      data: {
        jti: state.jti,
        credentialId: state.credentialId,
        tenantId: state.tenantId,
        subTenantId: state.subTenantId,
        expiresAt: state.expiresAt,
        reason,
        revokedAt: now.toISOString(),
      },
    },
  ];
}
