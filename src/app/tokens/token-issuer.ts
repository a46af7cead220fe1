import { conflict, KeyledgerError } from '../../domain/errors';
import { decide, initialTokenState, tokenStreamId, type IssueToken, type SecretOrigin, type TokenEvent, type TokenKind } from '../../domain/tokens';
import { secretInUse } from '../../domain/token-claims';
import { encodeBase62, randomBase62 } from '../../crypto/base62';
import { isArgon2Hash, type SecretHasher } from '../../crypto/secret-hash';
import { displayOf } from '../../crypto/token-format';
import { WrongExpectedRevisionError, type Actor, type EventMetadata } from '../../eventstore/port';
import type { TokenQueries, TokenRecord } from '../../../projections/tokens';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { eventMetadata, type RequestContext } from '../request-context';
import { ImportedSecretClaims } from './imported-secret-claims';
import { TokenClaims, type ClaimRequest } from './token-claims';
import type { TokenUsageRecorder } from './usage-recorder';

export const TOKEN_PREFIXES: Record<TokenKind, string> = {
  API_TOKEN: 'klt',
  WEBHOOK_TOKEN: 'klw',
  INTEGRATION_KEY: 'kli',
};

export type NewToken = Omit<IssueToken, 'type' | 'roles'> & { roles: readonly string[] };

/**
 * A new token id: `tok_`, the time in milliseconds as 8 base62 characters, then 14 random
 * ones (83 bits). Ids so made sort by when they were made, so the indexes keyed by them (the
 * tokens by id, their secrets and audit entries by token, the log's streams) grow at their
 * end, on a page the previous issue wrote already, instead of on a page of their own anywhere
 * in each index: a token issue writes some five pages fewer. An id is no secret and grants
 * nothing; what it tells beyond the token is when it was issued, as `createdAt` does to
 * whoever may read the token.
 */
export function newTokenId(now: number = Date.now()): string {
  return `tok_${encodeBase62(Math.max(0, Math.floor(now)), 8)}${randomBase62(14)}`;
}

/**
 * The issue of a token, whoever asks for it (a client, the operator's bootstrap secret, the
 * CLI): validates, claims what the token needs, appends `TokenIssued`, and reads it back.
 * Callers have already decided the caller may issue it.
 */
export class TokenIssuer {
  private readonly claims: TokenClaims;
  private readonly secretClaims: ImportedSecretClaims;

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: TokenQueries,
    private readonly hasher: SecretHasher,
    private readonly usage: TokenUsageRecorder,
    private readonly clock: Clock,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {
    this.claims = new TokenClaims(writer, clock);
    this.secretClaims = new ImportedSecretClaims(writer, hasher, this.claims, clock);
  }

  /**
   * A chosen secret must identify exactly one credential: an import is refused when any
   * credential, of any tenant and in any state, already holds the secret, and otherwise
   * claims it (see `ImportedSecretClaims`) so that a concurrent import of the same secret
   * fails. The operator's bootstrap secret is exempt: its token id is fixed, so it cannot be
   * abandoned and claimed again; if a tenant holds it too, verification refuses it for both.
   */
  async createWithChosenSecret(
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    actor: Actor,
    token: Omit<NewToken, 'display' | 'secretHash' | 'lookupTag' | 'origin' | 'expiresAt'> & { expiresAt?: Date | null },
    secret: string,
    origin: SecretOrigin,
  ): Promise<TokenRecord> {
    const lookupTag = this.hasher.lookupTag(secret);
    if (origin !== 'bootstrap') await this.refuseHeldSecret(secret, lookupTag);
    const secretHash = await this.hasher.argon2Hash(secret);
    return this.create(
      ctx,
      actor,
      {
        ...token,
        expiresAt: token.expiresAt ?? null,
        display: displayOf(TOKEN_PREFIXES[token.kind], secret),
        secretHash,
        lookupTag,
        origin,
      },
      async () => {},
      origin === 'bootstrap' ? null : secret,
    );
  }

  /** Credentials imported before imports were claimed are in the read model only; only those of the secret's tag are checked. */
  private async refuseHeldSecret(secret: string, lookupTag: string): Promise<void> {
    for (const candidate of this.queries.byLookupTag(lookupTag)) {
      if (isArgon2Hash(candidate.secret.secretHash) && (await this.hasher.argon2Verify(candidate.secret.secretHash, secret))) throw secretInUse();
    }
  }

  /**
   * Validates, claims what the token needs (its code, its integration slot), then appends
   * `TokenIssued`. `onNotIssued` undoes side effects made before (a data key) when the token
   * was certainly not issued.
   */
  async create(
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    actor: Actor,
    token: NewToken,
    onNotIssued: () => Promise<void> = async () => {},
    chosenSecret: string | null = null,
  ): Promise<TokenRecord> {
    const now = this.clock.now();
    const command: IssueToken = { type: 'IssueToken', ...token };
    const metadata = eventMetadata(ctx, actor, now);
    let claimed = false;
    let events: TokenEvent[];
    try {
      // Decided before anything is claimed, so bad input is refused first.
      events = decide(command, initialTokenState, now);
      if (chosenSecret !== null && token.lookupTag !== null) {
        const { tenantId, tokenId, lookupTag, secretHash } = token;
        await this.secretClaims.claim({ tenantId, tokenId, lookupTag, secretHash }, chosenSecret, metadata);
        claimed = true;
      }
      const claim = claimOf(token);
      if (claim) {
        await this.claims.claim(claim, metadata);
        claimed = true;
      }
    } catch (error) {
      // A secret claimed before a code was refused is freed by abandoning the token id that holds it.
      if (claimed) await this.abandonQuietly(token.tokenId, token.tenantId, metadata);
      await onNotIssued();
      throw error;
    }
    try {
      // The stream is not loaded: its id was just made up (or claimed, or is the bootstrap
      // token's), so it can only be empty, and were it not, the append expecting no stream
      // would fail just as deciding on what it holds would.
      await this.writer.append(tokenStreamId(token.tokenId), events, metadata, 'no_stream');
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) {
        await onNotIssued();
        // With a claim, only an abandonment can have taken the stream: this issue stalled past the claim's grace.
        throw claimed
          ? conflict('The issue took too long and its claim was given up; try again')
          : conflict(`Token ${token.tokenId} already exists`);
      }
      if (claimed) await this.abandonQuietly(token.tokenId, token.tenantId, metadata);
      // A refusal or an unreachable store certainly wrote nothing; after anything else the outcome is unknown and nothing is undone.
      if (error instanceof KeyledgerError) await onNotIssued();
      throw error;
    }
    return this.readBack(token.tokenId);
  }

  /** Frees a claim at once when its issue failed; if even that fails, the claim's grace period frees it. */
  private async abandonQuietly(tokenId: string, tenantId: string, metadata: EventMetadata): Promise<void> {
    try {
      await this.claims.abandon(tokenId, tenantId, metadata);
    } catch (error) {
      this.logger.warn({ err: error, tokenId }, 'could not abandon the claim of a failed issue; it frees itself after its grace period');
    }
  }

  /** A token as the read model now holds it, with its latest use. */
  readBack(tokenId: string): TokenRecord {
    const record = this.queries.byId(tokenId);
    if (!record) {
      throw new KeyledgerError('UNAVAILABLE', 'The change was recorded but the read models are behind; query it again shortly');
    }
    return this.usage.withPendingUse(record);
  }
}

function claimOf(token: NewToken): ClaimRequest | null {
  if (token.kind === 'API_TOKEN' && token.code) {
    return { type: 'ReserveTokenCode', tenantId: token.tenantId, code: token.code, tokenId: token.tokenId };
  }
  if (token.kind === 'INTEGRATION_KEY' && token.integrationId) {
    return { type: 'TakeIntegrationKeySlot', tenantId: token.tenantId, integrationId: token.integrationId, tokenId: token.tokenId };
  }
  return null;
}
