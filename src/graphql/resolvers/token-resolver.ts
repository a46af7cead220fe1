import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, ID, Info, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { Clock } from '../../app/clock';
import type { Principal } from '../../app/request-context';
import type { CredentialVerifier } from '../../app/credentials/credential-verifier';
import type { TokenService } from '../../app/tokens/token-service';
import { notFound } from '../../domain/errors';
import type { IdempotentOutcome } from '../../domain/idempotency';
import { tokenStatus, type TokenRecord } from '../../../projections/tokens';
import type { GraphQLContext } from '../context';
import { IDEMPOTENCY_KEY_DESCRIPTION, outcomeOf, type IdempotentMutations } from '../idempotency';
import { FIELD_COSTS } from '../limits';
import { decodeCursor, pageSize, toConnection } from '../pagination';
import {
  ApiToken,
  ApiTokenConnection,
  ImportTokenInput,
  IssuedToken,
  IssueTokenInput,
  RevokeTokenInput,
  RotateTokenInput,
  TokenFilter,
  TokenKind,
  TokenStatus,
  TokenVerification,
  UpdateTokenInput,
  VerificationCode,
} from '../types/token-types';
import { RateLimitUseInput } from '../types/usage-types';

const CURSOR_KIND = 'token';

export function toApiToken(record: TokenRecord, now: Date): ApiToken {
  return {
    id: record.id,
    tenantId: record.tenantId,
    kind: record.kind as TokenKind,
    name: record.name,
    roles: record.roles,
    status: tokenStatus(record, now) as TokenStatus,
    display: record.display,
    code: record.code,
    botName: record.botName,
    avatarUrl: record.avatarUrl,
    ownerId: record.ownerId,
    integrationId: record.integrationId,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    rotatedAt: record.rotatedAt,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
    lastUsedAt: record.lastUsedAt,
    enabled: record.enabled,
    meta: record.meta,
    externalId: record.externalId,
  };
}

@Resolver(() => ApiToken)
export class TokenResolver {
  constructor(
    private readonly tokenService: TokenService,
    private readonly credentials: Pick<CredentialVerifier, 'verifyToken'>,
    private readonly clock: Clock,
    private readonly idempotency: IdempotentMutations,
  ) {}

  @Query(() => ApiToken, { nullable: true, description: "A token of the caller's tenant; null if there is none with this id there" })
  async token(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiToken | null> {
    const record = await this.tokenService.getToken(ctx, id);
    return record && toApiToken(record, this.clock.now());
  }

  @Query(() => ApiTokenConnection, { description: 'Tokens of a tenant, newest first' })
  async tokens(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('filter', () => TokenFilter, { nullable: true }) filter?: TokenFilter | null,
  ): Promise<ApiTokenConnection> {
    const page = await this.tokenService.listTokens(ctx, {
      first: pageSize(first),
      afterSeq: decodeCursor(CURSOR_KIND, after),
      filter: { ...filter },
    });
    const now = this.clock.now();
    return { ...toConnection(CURSOR_KIND, page, (record) => toApiToken(record, now)), totalCount: page.totalCount };
  }

  @Query(() => TokenVerification, {
    complexity: FIELD_COSTS.secretCheck,
    description:
      'Checks a credential presented to your service: a secret; for an integration key also `keyId:secret` (bare or as `Basic base64(keyId:secret)`) ' +
      'or an HS256 JWT signed with its secret whose header `kid` is the key id. An invalid credential is a result, not an error.',
  })
  async verifyToken(
    @Arg('token', () => String) token: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('requiredRoles', () => [String], { nullable: true, description: 'Roles the token must all hold' }) requiredRoles?: string[] | null,
    @Arg('anyOf', () => [[String]], {
      nullable: true,
      description:
        'Alternatives, besides requiredRoles: the token must hold every role of at least one group. ' +
        '"admin, or both read and write" is anyOf: [["admin"], ["read", "write"]]. 1-16 groups of 1-50 roles',
    })
    anyOf?: string[][] | null,
    @Arg('cost', () => Int, {
      defaultValue: 1,
      description: 'Credits to spend when the token has credits, 0-1000000; 0 only checks that some remain',
    })
    cost: number = 1,
    @Arg('rateLimits', () => [RateLimitUseInput], {
      nullable: true,
      description: "The token's rate limits to charge, and how many points each; by default every one, 1 point each",
    })
    rateLimits?: RateLimitUseInput[] | null,
  ): Promise<TokenVerification> {
    const { code, record, usage } = await this.credentials.verifyToken(ctx, token, requiredRoles ?? [], anyOf ?? null, { cost, rateLimits });
    return {
      valid: code === 'VALID',
      code: code as VerificationCode,
      token: record && toApiToken(record, this.clock.now()),
      remaining: usage?.remaining ?? null,
      rateLimits: usage?.rateLimits ?? [],
    };
  }

  @Mutation(() => IssuedToken, { description: 'Issues a token. The secret in the response is shown once and never stored.' })
  async issueToken(
    @Arg('input', () => IssueTokenInput) input: IssueTokenInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<IssuedToken> {
    return this.withSecret(ctx, info, idempotencyKey, { input }, () => this.tokenService.issueToken(ctx, input), () =>
      this.tokenService.authorizeIssue(ctx, input),
    );
  }

  @Mutation(() => ApiToken, { description: 'Takes over an existing secret (hashed with argon2id). The secret is never shown again.' })
  async importToken(
    @Arg('input', () => ImportTokenInput) input: ImportTokenInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<ApiToken> {
    return this.changeToken(ctx, info, idempotencyKey, { input }, () => this.tokenService.importToken(ctx, input), {
      sameSecrets: (outcome) => this.tokenService.importedSecretMatches(outcomeOf(outcome, 'token').id, input.secret),
    });
  }

  @Mutation(() => ApiToken, { description: 'Changes the given fields. A change to nothing records nothing.' })
  async updateToken(
    @Arg('input', () => UpdateTokenInput) input: UpdateTokenInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<ApiToken> {
    return this.changeToken(ctx, info, idempotencyKey, { input }, () => this.tokenService.updateToken(ctx, input));
  }

  @Mutation(() => IssuedToken, {
    description: 'Gives the token a new secret, shown once. Earlier secrets keep verifying for the grace period, then verify as REVOKED.',
  })
  async rotateToken(
    @Arg('input', () => RotateTokenInput) input: RotateTokenInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<IssuedToken> {
    return this.withSecret(ctx, info, idempotencyKey, { input }, () => this.tokenService.rotateToken(ctx, input), () =>
      this.tokenService.authorizeChangeOf(ctx, input.id),
    );
  }

  @Mutation(() => ApiToken, { description: 'Revokes a token at once. Revoking a revoked token changes nothing.' })
  async revokeToken(
    @Arg('input', () => RevokeTokenInput) input: RevokeTokenInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<ApiToken> {
    return this.changeToken(ctx, info, idempotencyKey, { input }, () => this.tokenService.revokeToken(ctx, input), {
      authorize: () => this.tokenService.authorizeChangeOf(ctx, input.id),
    });
  }

  /** A mutation whose answer is a token and its new secret; a replay shows the token without it. */
  private withSecret(
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
    idempotencyKey: string | null | undefined,
    args: Record<string, unknown>,
    run: () => Promise<{ record: TokenRecord; secret: string }>,
    authorize?: () => Promise<Principal>,
  ): Promise<IssuedToken> {
    return this.idempotency.run<IssuedToken>(
      ctx,
      info,
      idempotencyKey,
      args,
      {
        execute: async () => {
          const { record, secret } = await run();
          return { value: { token: toApiToken(record, this.clock.now()), secret, replayed: false }, outcome: { type: 'token', id: record.id } };
        },
        replay: async (outcome) => ({ token: await this.tokenOf(ctx, outcome), secret: null, replayed: true }),
      },
      authorize,
    );
  }

  /** A mutation whose answer is the token it created or changed. */
  private changeToken(
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
    idempotencyKey: string | null | undefined,
    args: Record<string, unknown>,
    change: () => Promise<TokenRecord>,
    { sameSecrets, authorize }: { sameSecrets?: (outcome: IdempotentOutcome) => Promise<boolean | null>; authorize?: () => Promise<Principal> } = {},
  ): Promise<ApiToken> {
    return this.idempotency.run(
      ctx,
      info,
      idempotencyKey,
      args,
      {
        execute: async () => {
          const record = await change();
          return { value: toApiToken(record, this.clock.now()), outcome: { type: 'token', id: record.id } };
        },
        replay: (outcome) => this.tokenOf(ctx, outcome),
        sameSecrets,
      },
      authorize,
    );
  }

  /** The token a replayed request created or changed, as it is now, if the caller may still read it. */
  private async tokenOf(ctx: GraphQLContext, outcome: IdempotentOutcome): Promise<ApiToken> {
    const { id } = outcomeOf(outcome, 'token');
    const record = await this.tokenService.getToken(ctx, id);
    if (!record) throw notFound(`Token ${id} not found`);
    return toApiToken(record, this.clock.now());
  }
}
