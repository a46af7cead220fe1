import type { TokenClaimEvent } from './events';

export interface ClaimHolder {
  tokenId: string;
  /** When the claim was made, to tell an issue still in flight from one that died. */
  since: string;
}

export interface ClaimState {
  holders: ClaimHolder[];
}

export const initialClaimState: ClaimState = { holders: [] };

export function evolveClaim(state: ClaimState, event: TokenClaimEvent): ClaimState {
  switch (event.type) {
    case 'TokenCodeReserved':
      return hold(state, event.data.tokenId, event.data.reservedAt);
    case 'IntegrationKeySlotTaken':
      return hold(state, event.data.tokenId, event.data.takenAt);
    case 'TokenCodeReleased':
    case 'IntegrationKeySlotReleased':
      return { holders: state.holders.filter((holder) => holder.tokenId !== event.data.tokenId) };
  }
}

function hold(state: ClaimState, tokenId: string, since: string): ClaimState {
  if (state.holders.some((holder) => holder.tokenId === tokenId)) return state;
  return { holders: [...state.holders, { tokenId, since }] };
}

export function foldClaimEvents(events: readonly TokenClaimEvent[]): ClaimState {
  return events.reduce(evolveClaim, initialClaimState);
}
