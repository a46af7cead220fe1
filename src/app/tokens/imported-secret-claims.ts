import { conflict } from '../../domain/errors';
import {
  decideImportedSecretClaim,
  evolveImportedSecretClaim,
  importedSecretStreamId,
  initialImportedSecretClaimState,
  UNCONFIRMED_CLAIM_GRACE_MS,
  type ImportedSecretClaimEvent,
  type ImportedSecretClaimState,
  type SecretHolder,
  type SecretHolderStanding,
} from '../../domain/token-claims';
import { evolve, initialTokenState, tokenStreamId, type TokenEvent, type TokenState } from '../../domain/tokens';
import type { SecretHasher } from '../../crypto/secret-hash';
import { WrongExpectedRevisionError, type EventMetadata } from '../../eventstore/port';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { SYSTEM_ACTOR } from '../request-context';
import type { TokenClaims } from './token-claims';

const MAX_ATTEMPTS = 5;

export interface ImportedSecretClaimRequest {
  tenantId: string;
  tokenId: string;
  lookupTag: string;
  secretHash: string;
}

/**
 * Claims a chosen secret for the token about to be issued with it, so that two imports of
 * one secret (in any tenant, on any process) cannot both succeed: the claim is appended to
 * the stream of the secret's lookup tag with the revision it was decided on, so of two
 * concurrent claims one is decided again on a state that holds the other. Only the holders
 * of the same tag are checked with argon2, each at most once per claim.
 */
export class ImportedSecretClaims {
  constructor(
    private readonly writer: EventWriter,
    private readonly hasher: SecretHasher,
    private readonly claims: Pick<TokenClaims, 'abandon'>,
    private readonly clock: Clock,
  ) {}

  async claim(request: ImportedSecretClaimRequest, secret: string, metadata: EventMetadata): Promise<void> {
    const streamId = importedSecretStreamId(request.lookupTag);
    const matches = new Map<string, boolean>();
    for (let attempt = 1; ; attempt++) {
      const now = this.clock.now();
      const { state, revision } = await this.writer.load<ImportedSecretClaimState, ImportedSecretClaimEvent>(
        streamId,
        initialImportedSecretClaimState,
        evolveImportedSecretClaim,
      );
      const sameSecret: Record<string, SecretHolderStanding> = {};
      for (const holder of state.holders) {
        if (holder.tokenId === request.tokenId) continue;
        if (!matches.has(holder.tokenId)) matches.set(holder.tokenId, await this.hasher.argon2Verify(holder.secretHash, secret));
        if (matches.get(holder.tokenId)) sameSecret[holder.tokenId] = await this.standing(holder, metadata, now);
      }
      const events = decideImportedSecretClaim({ type: 'ClaimImportedSecret', ...request, sameSecret }, state, now);
      if (events.length === 0) return;
      try {
        await this.writer.append(streamId, events, metadata, revision);
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        if (attempt >= MAX_ATTEMPTS) throw conflict('Too many concurrent imports; try again');
      }
    }
  }

  /**
   * An import that died long ago is abandoned, so it can never complete, and then holds
   * nothing. The holder may be of another tenant, whose history must not name this caller.
   */
  private async standing(holder: SecretHolder, metadata: EventMetadata, now: Date): Promise<SecretHolderStanding> {
    let token = await this.tokenState(holder.tokenId);
    if (token.status === 'absent' && now.getTime() - new Date(holder.since).getTime() >= UNCONFIRMED_CLAIM_GRACE_MS) {
      await this.claims.abandon(holder.tokenId, holder.tenantId, { requestId: metadata.requestId, occurredAt: metadata.occurredAt, actor: SYSTEM_ACTOR });
      token = await this.tokenState(holder.tokenId);
    }
    return token.status === 'abandoned' ? 'gone' : 'holds';
  }

  private async tokenState(tokenId: string): Promise<TokenState> {
    const { state } = await this.writer.load<TokenState, TokenEvent>(tokenStreamId(tokenId), initialTokenState, evolve);
    return state;
  }
}
