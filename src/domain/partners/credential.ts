import { badInput, conflict, notFound } from '../errors';
import { LIMITS, optionalText, requireName, requireTenantId } from '../validation';
import type { PartnerCredentialCreated, PartnerCredentialEvent, PartnerCredentialRevoked } from './events';

export const MAX_SUBTENANTS_PER_CREDENTIAL = 100;

export type PartnerCredentialState =
  | { status: 'absent' }
  | {
      status: 'active' | 'revoked';
      credentialId: string;
      tenantId: string;
      name: string;
      subTenantIds: string[];
      apiKey: string;
      revokedAt: string | null;
    };

export const initialPartnerCredentialState: PartnerCredentialState = { status: 'absent' };

export function evolveCredential(state: PartnerCredentialState, event: PartnerCredentialEvent): PartnerCredentialState {
  switch (event.type) {
    case 'PartnerCredentialCreated': {
      const { credentialId, tenantId, name, subTenantIds, apiKey } = event.data;
      return { status: 'active', credentialId, tenantId, name, subTenantIds, apiKey, revokedAt: null };
    }
    case 'PartnerCredentialRevoked':
      if (state.status === 'absent') return state;
      return { ...state, status: 'revoked', revokedAt: event.data.revokedAt };
  }
}

export function foldCredentialEvents(events: readonly PartnerCredentialEvent[]): PartnerCredentialState {
  return events.reduce(evolveCredential, initialPartnerCredentialState);
}

export interface CreatePartnerCredential {
  type: 'CreatePartnerCredential';
  credentialId: string;
  tenantId: string;
  name: string;
  subTenantIds: readonly string[];
  apiKey: string;
  secretDisplay: string;
  secretHash: string;
}

export interface RevokePartnerCredential {
  type: 'RevokePartnerCredential';
  credentialId: string;
  reason: string | null;
}

export type PartnerCredentialCommand = CreatePartnerCredential | RevokePartnerCredential;

export function decideCredential(command: PartnerCredentialCommand, state: PartnerCredentialState, now: Date): PartnerCredentialEvent[] {
  switch (command.type) {
    case 'CreatePartnerCredential':
      return [create(command, state, now)];
    case 'RevokePartnerCredential':
      return revoke(command, state, now);
  }
}

function create(command: CreatePartnerCredential, state: PartnerCredentialState, now: Date): PartnerCredentialCreated {
  if (state.status !== 'absent') throw conflict(`Partner credential ${command.credentialId} already exists`);
  if (!command.secretHash.startsWith('$argon2id$')) throw badInput('A partner secret must be stored as an argon2id hash', 'secretHash');
  return {
    type: 'PartnerCredentialCreated',
    data: {
      credentialId: command.credentialId,
      tenantId: requireTenantId(command.tenantId),
      name: requireName(command.name),
      subTenantIds: requireSubTenantIds(command.subTenantIds),
      apiKey: command.apiKey,
      secretDisplay: command.secretDisplay,
      secretHash: command.secretHash,
      createdAt: now.toISOString(),
    },
  };
}

/** Revoking a revoked credential changes nothing and is not an error, so retries are safe. */
function revoke(command: RevokePartnerCredential, state: PartnerCredentialState, now: Date): PartnerCredentialRevoked[] {
  if (state.status === 'absent') throw notFound(`Partner credential ${command.credentialId} not found`);
  const reason = optionalText(command.reason, 'reason', LIMITS.reasonLength);
  if (state.status === 'revoked') return [];
  return [
    {
      type: 'PartnerCredentialRevoked',
      data: { credentialId: state.credentialId, tenantId: state.tenantId, reason, revokedAt: now.toISOString() },
    },
  ];
}

export function requireSubTenantIds(values: readonly string[], field = 'subTenantIds'): string[] {
  if (values.length > MAX_SUBTENANTS_PER_CREDENTIAL) {
    throw badInput(`${field} may hold at most ${MAX_SUBTENANTS_PER_CREDENTIAL} subtenants`, field);
  }
  return [...new Set(values.map((value) => requireTenantId(value, field)))].sort();
}

/** Whether a credential may obtain tokens for a tenant and subtenant. */
export function allowsPair(state: PartnerCredentialState, tenantId: string, subTenantId: string): boolean {
  if (state.status === 'absent' || state.tenantId !== tenantId) return false;
  return state.subTenantIds.length === 0 || state.subTenantIds.includes(subTenantId);
}
