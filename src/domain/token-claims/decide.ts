import { conflict } from '../errors';
import type { TokenState } from '../tokens/state';
import { isExpired } from '../tokens/status';
import type { IntegrationKeySlotReleased, IntegrationKeySlotTaken, TokenClaimEvent, TokenCodeReleased, TokenCodeReserved } from './events';
import type { ClaimHolder, ClaimState } from './state';

export const MAX_ACTIVE_KEYS_PER_INTEGRATION = 10;

/**
 * How long a claim whose token stream has not appeared counts as an issue in flight. The
 * issuer appends the token right after the claim, so this only has to outlast a slow
 * append; after it the claim may be reclaimed (see `holdersToAbandon`).
 */
export const UNCONFIRMED_CLAIM_GRACE_MS = 60_000;

/**
 * What a holder's own token stream says about its claim:
 * - `live`: issued, neither revoked nor expired — the claim holds;
 * - `ended`: revoked, expired or abandoned — the claim can be released;
 * - `pending`: not issued yet, claimed recently — an issue is in flight, the claim holds;
 * - `stale`: not issued long after the claim — its issuer failed; abandon it, then it ends.
 */
export type HolderStanding = 'live' | 'ended' | 'pending' | 'stale';

export function standingOf(token: TokenState, holder: ClaimHolder, now: Date): HolderStanding {
  switch (token.status) {
    case 'absent':
      return now.getTime() - new Date(holder.since).getTime() < UNCONFIRMED_CLAIM_GRACE_MS ? 'pending' : 'stale';
    case 'abandoned':
    case 'revoked':
      return 'ended';
    case 'active':
      return isExpired(token, now) ? 'ended' : 'live';
  }
}

export interface ReserveTokenCode {
  type: 'ReserveTokenCode';
  tenantId: string;
  code: string;
  tokenId: string;
  /** Standings of current holders, where known; a holder without one counts as live. */
  standings: Readonly<Record<string, HolderStanding>>;
}

export interface TakeIntegrationKeySlot {
  type: 'TakeIntegrationKeySlot';
  tenantId: string;
  integrationId: string;
  tokenId: string;
  standings: Readonly<Record<string, HolderStanding>>;
}

export type TokenClaimCommand = ReserveTokenCode | TakeIntegrationKeySlot;

export function capacityOf(command: Pick<TokenClaimCommand, 'type'>): number {
  return command.type === 'ReserveTokenCode' ? 1 : MAX_ACTIVE_KEYS_PER_INTEGRATION;
}

/**
 * Holders to abandon before the claim can be decided: only when the claim is full, and only
 * those whose issue died. Abandoning writes into each holder's token stream with the
 * expectation that it does not exist, so a late issue and the abandonment cannot both win.
 */
export function holdersToAbandon(state: ClaimState, standings: Readonly<Record<string, HolderStanding>>, capacity: number): string[] {
  const holding = state.holders.filter((holder) => (standings[holder.tokenId] ?? 'live') !== 'ended');
  if (holding.length < capacity) return [];
  return holding.filter((holder) => standings[holder.tokenId] === 'stale').map((holder) => holder.tokenId);
}

/**
 * Pure: releases the claims of ended holders and claims for the new token, or CONFLICT when
 * the claim is full. Claiming again for a holder is a no-op, so a retried issue is safe.
 */
export function decideClaim(command: TokenClaimCommand, state: ClaimState, now: Date): TokenClaimEvent[] {
  if (state.holders.some((holder) => holder.tokenId === command.tokenId)) return [];
  const standing = (holder: ClaimHolder) => command.standings[holder.tokenId] ?? 'live';
  const ended = state.holders.filter((holder) => standing(holder) === 'ended');
  const holding = state.holders.length - ended.length;
  if (holding >= capacityOf(command)) {
    throw command.type === 'ReserveTokenCode'
      ? conflict(`The code "${command.code}" is already used by another token in tenant ${command.tenantId}`)
      : conflict(
          `Integration ${command.integrationId} already has ${MAX_ACTIVE_KEYS_PER_INTEGRATION} active keys, the most it may have; revoke one first`,
        );
  }
  const at = now.toISOString();
  if (command.type === 'ReserveTokenCode') {
    const { tenantId, code, tokenId } = command;
    const released = ended.map((holder): TokenCodeReleased => ({ type: 'TokenCodeReleased', data: { tenantId, code, tokenId: holder.tokenId, releasedAt: at } }));
    const reserved: TokenCodeReserved = { type: 'TokenCodeReserved', data: { tenantId, code, tokenId, reservedAt: at } };
    return [...released, reserved];
  }
  const { tenantId, integrationId, tokenId } = command;
  const released = ended.map(
    (holder): IntegrationKeySlotReleased => ({ type: 'IntegrationKeySlotReleased', data: { tenantId, integrationId, tokenId: holder.tokenId, releasedAt: at } }),
  );
  const taken: IntegrationKeySlotTaken = { type: 'IntegrationKeySlotTaken', data: { tenantId, integrationId, tokenId, takenAt: at } };
  return [...released, taken];
}
