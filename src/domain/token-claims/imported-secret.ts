import { conflict, type KeyledgerError } from '../errors';
import type { ImportedSecretClaimed, ImportedSecretClaimEvent } from './events';

export interface SecretHolder {
  tokenId: string;
  tenantId: string;
  secretHash: string;
  /** When the claim was made, to tell an import still in flight from one that died. */
  since: string;
}

export interface ImportedSecretClaimState {
  holders: SecretHolder[];
}

export const initialImportedSecretClaimState: ImportedSecretClaimState = { holders: [] };

export function evolveImportedSecretClaim(state: ImportedSecretClaimState, event: ImportedSecretClaimEvent): ImportedSecretClaimState {
  const { tokenId, tenantId, secretHash, claimedAt } = event.data;
  if (state.holders.some((holder) => holder.tokenId === tokenId)) return state;
  return { holders: [...state.holders, { tokenId, tenantId, secretHash, since: claimedAt }] };
}

/**
 * What a holder of the same secret still means for it: `holds` while its token is issued
 * (live, revoked or expired: a secret that ever identified a credential stays that
 * credential's) or its import is in flight; `gone` once its import was abandoned.
 */
export type SecretHolderStanding = 'holds' | 'gone';

export interface ClaimImportedSecret {
  type: 'ClaimImportedSecret';
  tenantId: string;
  tokenId: string;
  lookupTag: string;
  secretHash: string;
  /** The holders whose hash the new secret matches, with their standing. */
  sameSecret: Readonly<Record<string, SecretHolderStanding>>;
}

/**
 * The one answer to an import whose secret is taken, wherever it is taken: naming the
 * tenant or the credential, or answering differently for the caller's own tenant, would
 * tell an importer about credentials it cannot see.
 */
export function secretInUse(): KeyledgerError {
  return conflict('This secret cannot be imported: it is already in use. Import a different secret, or rotate to a generated one.');
}

/** Pure: the claim, nothing when the token already holds it (a retried import), or CONFLICT when another credential does. */
export function decideImportedSecretClaim(command: ClaimImportedSecret, state: ImportedSecretClaimState, now: Date): ImportedSecretClaimed[] {
  if (state.holders.some((holder) => holder.tokenId === command.tokenId)) return [];
  if (Object.entries(command.sameSecret).some(([tokenId, standing]) => tokenId !== command.tokenId && standing === 'holds')) throw secretInUse();
  const { tenantId, tokenId, lookupTag, secretHash } = command;
  return [{ type: 'ImportedSecretClaimed', data: { tenantId, tokenId, lookupTag, secretHash, claimedAt: now.toISOString() } }];
}
