import { conflict } from '../../domain/errors';
import {
  capacityOf,
  decideClaim,
  evolveClaim,
  holdersToAbandon,
  initialClaimState,
  integrationKeysStreamId,
  standingOf,
  tokenCodeStreamId,
  type ClaimState,
  type HolderStanding,
  type TokenClaimCommand,
  type TokenClaimEvent,
} from '../../domain/token-claims';
import { decide, evolve, initialTokenState, tokenStreamId, type TokenEvent, type TokenState } from '../../domain/tokens';
import { WrongExpectedRevisionError, type EventMetadata } from '../../eventstore/port';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';

type WithoutStandings<Command> = Command extends TokenClaimCommand ? Omit<Command, 'standings'> : never;
export type ClaimRequest = WithoutStandings<TokenClaimCommand>;

const MAX_ATTEMPTS = 5;

/**
 * Claims for a token that is about to be issued: its code, or a slot among its
 * integration's keys. The protocol, since no store here appends to two streams atomically:
 *
 * 1. Append the claim, naming the new token id, to the claim's stream with the revision it
 *    was decided on (`no_stream` for the first). Of two concurrent claims, one append fails
 *    and is decided again on the fresh state — where the other claim now holds.
 * 2. Append `TokenIssued` to the token's stream with `no_stream`.
 *
 * If step 2 never happens (the issuer crashed, the store went away), the claim names a
 * token whose stream does not exist. For a minute it counts as an issue in flight; after
 * that the next claimer that needs the room abandons it by appending `TokenIssueAbandoned`
 * to that token's stream, also with `no_stream`. Exactly one of the late issue and the
 * abandonment can succeed, so a code never ends up with two live tokens, and a dead claim
 * never blocks a code or a slot for good. Revoked and expired holders are released the same
 * way, lazily, by the next claim that needs the room: revocation stays a one-stream write.
 */
export class TokenClaims {
  constructor(
    private readonly writer: EventWriter,
    private readonly clock: Clock,
  ) {}

  /** Claims for `request.tokenId`, or throws CONFLICT when the code is taken or the integration full. */
  async claim(request: ClaimRequest, metadata: EventMetadata): Promise<void> {
    const streamId = claimStreamId(request);
    const capacity = capacityOf(request);
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      const { state, revision } = await this.writer.load<ClaimState, TokenClaimEvent>(streamId, initialClaimState, evolveClaim);
      const full = state.holders.length >= capacity && !state.holders.some((holder) => holder.tokenId === request.tokenId);
      const standings = full ? await this.standings(state, now) : {};
      const stale = holdersToAbandon(state, standings, capacity);
      if (stale.length > 0 && attempt < MAX_ATTEMPTS) {
        for (const tokenId of stale) await this.abandon(tokenId, request.tenantId, metadata);
        continue;
      }
      const events = decideClaim({ ...request, standings } as TokenClaimCommand, state, now);
      if (events.length === 0) return;
      try {
        await this.writer.append(streamId, events, metadata, revision);
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= MAX_ATTEMPTS) throw conflict('Too many concurrent changes to this claim; try again');
      }
    }
  }

  /**
   * Makes sure a token id that was claimed for can never be issued. Harmless when the token
   * was issued after all: then the append fails and the issue stands.
   */
  async abandon(tokenId: string, tenantId: string, metadata: EventMetadata): Promise<void> {
    const now = this.clock.now();
    try {
      await this.writer.execute<TokenState, TokenEvent>({
        streamId: tokenStreamId(tokenId),
        initial: initialTokenState,
        evolve,
        metadata,
        retryOnConflict: false,
        decide: (state) => decide({ type: 'AbandonTokenIssue', tokenId, tenantId }, state, now),
      });
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
  }

  private async standings(state: ClaimState, now: Date): Promise<Record<string, HolderStanding>> {
    const standings: Record<string, HolderStanding> = {};
    for (const holder of state.holders) {
      const { state: token } = await this.writer.load<TokenState, TokenEvent>(tokenStreamId(holder.tokenId), initialTokenState, evolve);
      standings[holder.tokenId] = standingOf(token, holder, now);
    }
    return standings;
  }
}

function claimStreamId(request: ClaimRequest): string {
  return request.type === 'ReserveTokenCode'
    ? tokenCodeStreamId(request.tenantId, request.code)
    : integrationKeysStreamId(request.tenantId, request.integrationId);
}
