import { Role, isKeyledgerRole, rolesBeyondCaller, requireGrantableRoles } from '../../domain/access/roles';
import { badInput, forbidden, KeyledgerError, notFound } from '../../domain/errors';
import {
  decide,
  evolve,
  initialTokenState,
  tokenStreamId,
  type SealedSecret,
  type TokenCommand,
  type TokenEvent,
  type TokenKind,
  type TokenState,
  type Credits,
  type TokenRateLimit,
} from '../../domain/tokens';
import { SecretHasher, isArgon2Hash } from '../../crypto/secret-hash';
import { displayOf, generateToken } from '../../crypto/token-format';
import type { TokenListFilter, TokenPage, TokenQueries, TokenRecord } from '../../../projections/tokens';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { KEYLEDGER_PREFIX, isChosenSecretShape, MAX_SECRET_LENGTH, MIN_CHOSEN_SECRET_LENGTH } from '../credentials/secret-shapes';
import { TOKEN_ID_PATTERN } from '../credentials/presented-credential';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';
import { requireRole, targetTenant, tokenReadReach, tokenWriteReach, visibleTo, type TokenReach } from '../tenant-access';
import type { IntegrationKeySecrets } from './integration-key-secrets';
import { newTokenId, TOKEN_PREFIXES, type TokenIssuer } from './token-issuer';
import { refuseCredentialsInMeta } from './token-meta';
import type { TokenUsageRecorder } from './usage-recorder';

export interface TokenKindFields {
  code?: string | null;
  botName?: string | null;
  avatarUrl?: string | null;
  ownerId?: string | null;
  integrationId?: string | null;
}

/** Usage controls, for every kind. */
export interface TokenControlFields {
  meta?: Record<string, unknown> | null;
  externalId?: string | null;
}

export interface IssueTokenInput extends TokenKindFields, TokenControlFields, UsageControlFields {
  name: string;
  kind?: TokenKind | null;
  roles?: readonly string[] | null;
  expiresAt?: Date | null;
  tenantId?: string | null;
}

export interface UsageControlFields {
  credits?: Credits | null;
  rateLimits?: readonly TokenRateLimit[] | null;
}

export interface ImportTokenInput extends Omit<IssueTokenInput, keyof UsageControlFields> {
  /** The plaintext, given once; only its argon2id hash is kept. */
  secret: string;
}

export interface UpdateTokenInput {
  id: string;
  name?: string | null;
  roles?: readonly string[] | null;
  /** Null clears it. */
  botName?: string | null;
  avatarUrl?: string | null;
  expiresAt?: Date | null;
  /** False pauses the token, true resumes it. */
  enabled?: boolean | null;
  /** Null clears it. */
  meta?: Record<string, unknown> | null;
  externalId?: string | null;
  /** Null removes the credits. */
  credits?: Credits | null;
  /** The whole new list; null leaves it alone. */
  rateLimits?: readonly TokenRateLimit[] | null;
}

export interface RotateTokenInput {
  id: string;
  gracePeriodSeconds: number;
}

export interface IssuedToken {
  record: TokenRecord;
  /** Shown once, never stored. */
  secret: string;
}

export interface ListTokensInput {
  first: number;
  afterSeq: number | null;
  filter: Omit<TokenListFilter, 'tenantId'> & { tenantId?: string | null };
}

export interface TokenServiceDependencies {
  issuer: TokenIssuer;
  integrationKeySecrets: IntegrationKeySecrets;
  usage: TokenUsageRecorder;
}

/**
 * Issues, updates, rotates, revokes and reads tokens. Every operation checks the
 * caller's roles and tenant here, so transports stay thin.
 */
export class TokenService {
  private readonly issuer: TokenIssuer;
  private readonly integrationKeySecrets: IntegrationKeySecrets;
  private readonly usage: TokenUsageRecorder;

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: TokenQueries,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    dependencies: TokenServiceDependencies,
  ) {
    ({ issuer: this.issuer, integrationKeySecrets: this.integrationKeySecrets, usage: this.usage } = dependencies);
  }

  /** Refuses, before anything is recorded, an issue the caller could never make. */
  async authorizeIssue(ctx: RequestContext, input: Pick<IssueTokenInput, 'kind' | 'roles'>): Promise<Principal> {
    const caller = await ctx.principal();
    const reach = tokenWriteReach(caller);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensWrite} role`);
    if (reach !== 'all') requireWebhookTokenIssue(input.kind ?? 'API_TOKEN', input.roles ?? []);
    return caller;
  }

  /**
   * Refuses, before anything is recorded, a rotation or revocation the caller could never
   * make: the kind is read from the read model here, and checked again on the token's stream.
   */
  async authorizeChangeOf(ctx: RequestContext, tokenId: string): Promise<Principal> {
    const { caller, reach } = await this.tokenWriter(ctx, tokenId);
    const record = reach === 'all' ? null : this.queries.byId(tokenId);
    if (record && visibleTo(caller, record.tenantId) && record.kind !== 'WEBHOOK_TOKEN') throw beyondReach(reach, Role.tokensWrite);
    return caller;
  }

  async issueToken(ctx: RequestContext, input: IssueTokenInput): Promise<IssuedToken> {
    const caller = await this.authorizeIssue(ctx, input);
    const tenantId = targetTenant(caller, input.tenantId);
    const kind = input.kind ?? 'API_TOKEN';
    const roles = requireGrantableRoles(caller.roles, input.roles ?? [], null);
    const prefix = TOKEN_PREFIXES[kind];
    if (!prefix) throw badInput(`Unknown token kind ${String(kind)}`, 'kind');
    const secret = generateToken(prefix);
    const tokenId = newTokenId();
    const fields = {
      tokenId,
      tenantId,
      kind,
      name: input.name,
      roles,
      expiresAt: input.expiresAt ?? null,
      display: displayOf(prefix, secret),
      secretHash: this.hasher.lookupHash(secret),
      lookupTag: null,
      origin: 'generated' as const,
      ...kindFieldsOf(input),
      ...controlFieldsOf(input),
      credits: input.credits ?? null,
      rateLimits: input.rateLimits ?? null,
    };
    if (kind !== 'INTEGRATION_KEY') return { record: await this.issuer.create(ctx, actorOf(caller), fields), secret };

    // The secret must be recoverable to check JWTs signed with it: it is kept only sealed, under a data key of its own.
    const sealedSecret = await this.integrationKeySecrets.sealFirst(tokenId, secret);
    const record = await this.issuer.create(ctx, actorOf(caller), { ...fields, sealedSecret }, () => this.integrationKeySecrets.discard(tokenId));
    return { record, secret };
  }

  /**
   * Takes over a secret that already exists elsewhere. The plaintext is hashed with argon2id
   * (it may have been chosen by a person) and never stored or echoed.
   */
  async importToken(ctx: RequestContext, input: ImportTokenInput): Promise<TokenRecord> {
    const caller = await requireRole(ctx, Role.tokensWrite);
    const tenantId = targetTenant(caller, input.tenantId);
    const kind = input.kind ?? 'API_TOKEN';
    if (kind === 'INTEGRATION_KEY') {
      throw badInput('Integration keys cannot be imported: their secret signs JWTs, so keyledger generates it and keeps it sealed', 'kind');
    }
    const roles = requireGrantableRoles(caller.roles, input.roles ?? [], null);
    if (typeof input.secret !== 'string' || !isChosenSecretShape(input.secret)) {
      throw badInput(
        `secret must be ${MIN_CHOSEN_SECRET_LENGTH}-${MAX_SECRET_LENGTH} printable ASCII characters without spaces`,
        'secret',
      );
    }
    if (KEYLEDGER_PREFIX.test(input.secret)) {
      throw badInput("secret must not start with one of keyledger's own prefixes (kl…_): such strings are checked by checksum", 'secret');
    }
    return this.issuer.createWithChosenSecret(
      ctx,
      actorOf(caller),
      {
        tokenId: newTokenId(),
        tenantId,
        kind,
        name: input.name,
        roles,
        expiresAt: input.expiresAt ?? null,
        ...kindFieldsOf(input),
        ...controlFieldsOf(input),
      },
      input.secret,
      'imported',
    );
  }

  async updateToken(ctx: RequestContext, input: UpdateTokenInput): Promise<TokenRecord> {
    const caller = await requireRole(ctx, Role.tokensWrite);
    refuseCredentialsInMeta(input.meta);
    await this.changeNamedToken(ctx, caller, input.id, this.clock.now(), {
      type: 'UpdateToken',
      tokenId: input.id,
      changes: {
        name: input.name ?? undefined,
        roles: input.roles ?? undefined,
        botName: input.botName,
        avatarUrl: input.avatarUrl,
        expiresAt: input.expiresAt,
        enabled: input.enabled ?? undefined,
        meta: input.meta,
        externalId: input.externalId,
        credits: input.credits,
        rateLimits: input.rateLimits ?? undefined,
      },
      grantorRoles: caller.roles,
    });
    return this.readBack(input.id);
  }

  /** A new secret for the token; earlier secrets verify for `gracePeriodSeconds` more, then are revoked. */
  async rotateToken(ctx: RequestContext, input: RotateTokenInput): Promise<IssuedToken> {
    const { caller, reach } = await this.tokenWriter(ctx, input.id);
    const now = this.clock.now();
    const { state: current } = await this.writer.load<TokenState, TokenEvent>(streamOfNamedToken(input.id), initialTokenState, evolve);
    this.requireManageable(caller, current, input.id, reach);
    if (current.status !== 'active' && current.status !== 'revoked') throw notFound(`Token ${input.id} not found`);
    const prefix = TOKEN_PREFIXES[current.kind];
    const secret = generateToken(prefix);
    const command = (sealedSecret: SealedSecret | null) => ({
      type: 'RotateToken' as const,
      tokenId: input.id,
      gracePeriodSeconds: input.gracePeriodSeconds,
      display: displayOf(prefix, secret),
      secretHash: this.hasher.lookupHash(secret),
      sealedSecret,
    });
    // Decided once before sealing, so a revoked key (whose data key is gone) or a bad grace period fails cleanly.
    const placeholder = current.kind === 'INTEGRATION_KEY' ? { dataKeyId: input.id, ciphertext: '' } : null;
    decide(command(placeholder), current, now);
    const sealedSecret = current.kind === 'INTEGRATION_KEY' ? await this.integrationKeySecrets.sealRotated(input.id, secret) : null;
    await this.changeNamedToken(ctx, caller, input.id, now, command(sealedSecret), reach);
    return { record: this.readBack(input.id), secret };
  }

  async revokeToken(ctx: RequestContext, input: { id: string; reason?: string | null }): Promise<TokenRecord> {
    const { caller, reach } = await this.tokenWriter(ctx, input.id);
    const { state } = await this.changeNamedToken(
      ctx,
      caller,
      input.id,
      this.clock.now(),
      { type: 'RevokeToken', tokenId: input.id, reason: input.reason ?? null },
      reach,
    );
    if (state.status !== 'active' && state.status !== 'revoked') throw notFound(`Token ${input.id} not found`);
    // Also on a repeated revoke, so that a retry finishes a shredding that failed the first time.
    if (state.kind === 'INTEGRATION_KEY') await this.integrationKeySecrets.shred(input.id);
    return this.readBack(input.id);
  }

  async getToken(ctx: RequestContext, id: string): Promise<TokenRecord | null> {
    const caller = await ctx.principal();
    const reach = tokenReadReach(caller, id);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensRead} role`);
    const record = this.queries.byId(id);
    if (!record || !visibleTo(caller, record.tenantId)) return null;
    if (reach !== 'all' && record.kind !== 'WEBHOOK_TOKEN') throw beyondReach(reach, Role.tokensRead);
    return this.withUsage(record);
  }

  /**
   * Whether `secret` is the one a token was imported with, checked against the argon2 hash
   * its `TokenIssued` recorded (a rotation since does not change the answer); null when
   * there is no such hash.
   */
  async importedSecretMatches(tokenId: string, secret: string): Promise<boolean | null> {
    const issued = (await this.writer.readStream(tokenStreamId(tokenId))).find((event) => event.type === 'TokenIssued');
    const stored = (issued?.data as { secretHash?: unknown } | undefined)?.secretHash;
    if (typeof stored !== 'string' || !isArgon2Hash(stored)) return null;
    return this.hasher.argon2Verify(stored, secret);
  }

  async listTokens(ctx: RequestContext, input: ListTokensInput): Promise<TokenPage> {
    const caller = await ctx.principal();
    const reach = tokenReadReach(caller);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensRead} role`);
    // Asked, not narrowed silently: a list that quietly left tokens out would read as complete.
    if (reach !== 'all' && input.filter.kind !== 'WEBHOOK_TOKEN') {
      throw forbidden(`${Role.webhookTokensWrite} lists webhook tokens only: pass filter: {kind: WEBHOOK_TOKEN}, or hold ${Role.tokensRead}`);
    }
    const tenantId = targetTenant(caller, input.filter.tenantId);
    const page = this.queries.list({ ...input.filter, tenantId }, input.first, input.afterSeq, this.clock.now());
    return { ...page, records: page.records.map((record) => this.withUsage(record)) };
  }

  private withUsage(record: TokenRecord): TokenRecord {
    return this.usage.withPendingUse(record);
  }

  private readBack(tokenId: string): TokenRecord {
    return this.issuer.readBack(tokenId);
  }

  /** The caller of a rotation or revocation, and how far its power reaches. */
  private async tokenWriter(ctx: RequestContext, tokenId: string): Promise<{ caller: Principal; reach: TokenReach }> {
    const caller = await ctx.principal();
    const reach = tokenWriteReach(caller, tokenId);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensWrite} role`);
    return { caller, reach };
  }

  /** Applies a command to a token the caller names, each attempt checking that the caller may manage it. */
  private changeNamedToken(ctx: RequestContext, caller: Principal, tokenId: string, now: Date, command: TokenCommand, reach: TokenReach = 'all') {
    return this.writer.execute<TokenState, TokenEvent>({
      streamId: streamOfNamedToken(tokenId),
      initial: initialTokenState,
      evolve,
      metadata: eventMetadata(ctx, actorOf(caller), now),
      decide: (state) => {
        this.requireManageable(caller, state, tokenId, reach);
        return decide(command, state, now);
      },
    });
  }

  /**
   * Foreign tokens read as missing; a token holding keyledger roles the caller lacks is off
   * limits; a caller reaching only webhook tokens (or only itself) may not touch another kind.
   */
  private requireManageable(caller: Principal, state: TokenState, tokenId: string, reach: TokenReach = 'all'): void {
    if (state.status === 'absent' || state.status === 'abandoned' || !visibleTo(caller, state.tenantId)) {
      throw notFound(`Token ${tokenId} not found`);
    }
    if (reach !== 'all' && state.kind !== 'WEBHOOK_TOKEN') throw beyondReach(reach, Role.tokensWrite);
    const beyond = rolesBeyondCaller(caller.roles, state.roles);
    if (beyond.length > 0) throw forbidden(`The token holds role(s) you do not hold: ${beyond.join(', ')}`);
  }
}

/** The stream of a token a client names by id; an id `newTokenId` could not have made names no token. */
function streamOfNamedToken(tokenId: string): string {
  if (!TOKEN_ID_PATTERN.test(tokenId)) throw notFound('Token not found');
  return tokenStreamId(tokenId);
}

/** A caller reaching less than every token, faced with a token of another kind. */
function beyondReach(reach: TokenReach, role: string): KeyledgerError {
  return reach === 'self'
    ? forbidden(`This operation requires the ${role} role: a token acts on itself only when it is a WEBHOOK_TOKEN`)
    : forbidden(`${Role.webhookTokensWrite} reaches WEBHOOK_TOKENs only; this token needs ${role}`);
}

/** What keyledger:webhook-tokens:write may issue: webhook tokens, holding no keyledger role. */
function requireWebhookTokenIssue(kind: TokenKind, roles: readonly string[]): void {
  if (kind !== 'WEBHOOK_TOKEN') throw forbidden(`${Role.webhookTokensWrite} issues WEBHOOK_TOKENs only; other kinds need ${Role.tokensWrite}`);
  const keyledgerRoles = roles.filter(isKeyledgerRole);
  if (keyledgerRoles.length > 0) {
    throw forbidden(`${Role.webhookTokensWrite} issues tokens without keyledger roles; granting ${keyledgerRoles.join(', ')} needs ${Role.tokensWrite}`);
  }
}

function controlFieldsOf(input: TokenControlFields): TokenControlFields {
  refuseCredentialsInMeta(input.meta);
  return { meta: input.meta ?? null, externalId: input.externalId ?? null };
}

function kindFieldsOf(input: TokenKindFields): TokenKindFields {
  return {
    code: input.code ?? null,
    botName: input.botName ?? null,
    avatarUrl: input.avatarUrl ?? null,
    ownerId: input.ownerId ?? null,
    integrationId: input.integrationId ?? null,
  };
}
