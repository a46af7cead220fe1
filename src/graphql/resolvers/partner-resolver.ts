import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, ID, Info, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { PartnerAccessTokenService } from '../../app/partners/partner-access-tokens';
import type { PartnerCredentialService } from '../../app/partners/partner-credential-service';
import type { PartnerTokenExchange } from '../../app/partners/partner-token-exchange';
import { partnerCredentialStatus, type PartnerCredentialRecord } from '../../../projections/partners';
import { notFound } from '../../domain/errors';
import type { IdempotentOutcome } from '../../domain/idempotency';
import type { GraphQLContext } from '../context';
import { IDEMPOTENCY_KEY_DESCRIPTION, outcomeOf, REEXECUTED_IDEMPOTENCY_KEY_DESCRIPTION, type IdempotentMutations } from '../idempotency';
import { FIELD_COSTS } from '../limits';
import { decodeCursor, pageSize, toConnection } from '../pagination';
import {
  CreatedPartnerCredential,
  CreatePartnerCredentialInput,
  PartnerAccessToken,
  PartnerAccessTokenCode,
  PartnerAccessTokenVerification,
  PartnerCredential,
  PartnerCredentialConnection,
  PartnerCredentialStatus,
  RevokePartnerCredentialInput,
} from '../types/partner-types';

const CURSOR_KIND = 'partner';

export function toPartnerCredential(record: PartnerCredentialRecord): PartnerCredential {
  return {
    id: record.id,
    tenantId: record.tenantId,
    name: record.name,
    subTenantIds: record.subTenantIds,
    apiKey: record.apiKey,
    secretDisplay: record.secretDisplay,
    status: partnerCredentialStatus(record) as PartnerCredentialStatus,
    createdAt: record.createdAt,
    revokedAt: record.revokedAt,
  };
}

export interface PartnerResolverServices {
  credentials: PartnerCredentialService;
  exchange: PartnerTokenExchange;
  accessTokens: PartnerAccessTokenService;
}

@Resolver(() => PartnerCredential)
export class PartnerResolver {
  constructor(
    private readonly services: PartnerResolverServices,
    private readonly idempotency: IdempotentMutations,
  ) {}

  @Query(() => PartnerCredential, { nullable: true, description: "A partner credential of the caller's tenant; null if there is none with this id there" })
  async partnerCredential(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<PartnerCredential | null> {
    const record = await this.services.credentials.getPartnerCredential(ctx, id);
    return record && toPartnerCredential(record);
  }

  @Query(() => PartnerCredentialConnection, { description: 'Partner credentials of a tenant, newest first' })
  async partnerCredentials(
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('tenantId', () => ID, { nullable: true, description: 'keyledger:root only: the tenant to list' }) tenantId?: string | null,
  ): Promise<PartnerCredentialConnection> {
    const page = await this.services.credentials.listPartnerCredentials(ctx, {
      first: pageSize(first),
      afterSeq: decodeCursor(CURSOR_KIND, after),
      tenantId,
    });
    return { ...toConnection(CURSOR_KIND, page, (record) => toPartnerCredential(record)), totalCount: page.totalCount };
  }

  @Query(() => PartnerAccessTokenVerification, {
    complexity: FIELD_COSTS.signatureCheck,
    description: 'Checks a partner access token presented for a tenant and subtenant. An invalid one is a result, not an error.',
  })
  async verifyPartnerAccessToken(
    @Arg('token', () => String) token: string,
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('subTenantId', () => ID) subTenantId: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PartnerAccessTokenVerification> {
    const { code, claims } = await this.services.accessTokens.verifyForPair(ctx, token, { tenantId, subTenantId });
    return {
      valid: code === 'VALID',
      code: code as PartnerAccessTokenCode,
      credentialId: claims?.credentialId ?? null,
      tenantId: claims?.tenantId ?? null,
      subTenantId: claims?.subTenantId ?? null,
      expiresAt: claims?.expiresAt ?? null,
    };
  }

  @Mutation(() => CreatedPartnerCredential, { description: 'Creates a partner credential. The secret in the response is shown once and never stored.' })
  async createPartnerCredential(
    @Arg('input', () => CreatePartnerCredentialInput) input: CreatePartnerCredentialInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<CreatedPartnerCredential> {
    return this.idempotency.run<CreatedPartnerCredential>(ctx, info, idempotencyKey, { input }, {
      execute: async () => {
        const { record, apiKey, apiSecret } = await this.services.credentials.createPartnerCredential(ctx, input);
        return { value: { credential: toPartnerCredential(record), apiKey, apiSecret, replayed: false }, outcome: { type: 'partner-credential', id: record.id } };
      },
      replay: async (outcome) => {
        const credential = await this.credentialOf(ctx, outcome);
        // The API key is the public identifier, shown on every read; only the secret is never shown again.
        return { credential, apiKey: credential.apiKey, apiSecret: null, replayed: true };
      },
    });
  }

  @Mutation(() => PartnerCredential, {
    description: 'Revokes a partner credential: it can no longer exchange, and the access tokens it obtained stop verifying.',
  })
  async revokePartnerCredential(
    @Arg('input', () => RevokePartnerCredentialInput) input: RevokePartnerCredentialInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<PartnerCredential> {
    return this.idempotency.run(ctx, info, idempotencyKey, { input }, {
      execute: async () => {
        const record = await this.services.credentials.revokePartnerCredential(ctx, input);
        return { value: toPartnerCredential(record), outcome: { type: 'partner-credential', id: record.id } };
      },
      replay: (outcome) => this.credentialOf(ctx, outcome),
    });
  }

  @Mutation(() => PartnerAccessToken, {
    description: 'Exchanges a partner API key and secret for a 24-hour access token for one tenant and subtenant. Needs no bearer.',
  })
  async exchangePartnerCredential(
    @Arg('apiKey', () => String) apiKey: string,
    @Arg('apiSecret', () => String) apiSecret: string,
    @Arg('tenantId', () => ID) tenantId: string,
    @Arg('subTenantId', () => ID) subTenantId: string,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: REEXECUTED_IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<PartnerAccessToken> {
    return this.idempotency.reexecute(ctx, info, idempotencyKey, async () => {
      const issued = await this.services.exchange.exchangePartnerCredential(ctx, { apiKey, apiSecret, tenantId, subTenantId });
      return { accessToken: issued.accessToken, expiresAt: issued.expiresAt, tokenType: issued.tokenType };
    });
  }

  /** The credential a replayed request created or revoked, as it is now, if the caller may still read it. */
  private async credentialOf(ctx: GraphQLContext, outcome: IdempotentOutcome): Promise<PartnerCredential> {
    const { id } = outcomeOf(outcome, 'partner-credential');
    const record = await this.services.credentials.getPartnerCredential(ctx, id);
    if (!record) throw notFound(`Partner credential ${id} not found`);
    return toPartnerCredential(record);
  }
}
