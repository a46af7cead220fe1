import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { PartnerAccessTokenService } from '../../app/partners/partner-access-tokens';
import type { PartnerCredentialService } from '../../app/partners/partner-credential-service';
import type { PartnerTokenExchange } from '../../app/partners/partner-token-exchange';
import { partnerCredentialStatus, type PartnerCredentialRecord } from '../../../projections/partners';
import type { GraphQLContext } from '../context';
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
  constructor(private readonly services: PartnerResolverServices) {}

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
  ): Promise<CreatedPartnerCredential> {
    const { record, apiKey, apiSecret } = await this.services.credentials.createPartnerCredential(ctx, input);
    return { credential: toPartnerCredential(record), apiKey, apiSecret };
  }

  @Mutation(() => PartnerCredential, {
    description: 'Revokes a partner credential: it can no longer exchange, and the access tokens it obtained stop verifying.',
  })
  async revokePartnerCredential(
    @Arg('input', () => RevokePartnerCredentialInput) input: RevokePartnerCredentialInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PartnerCredential> {
    return toPartnerCredential(await this.services.credentials.revokePartnerCredential(ctx, input));
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
  ): Promise<PartnerAccessToken> {
    const issued = await this.services.exchange.exchangePartnerCredential(ctx, { apiKey, apiSecret, tenantId, subTenantId });
    return { accessToken: issued.accessToken, expiresAt: issued.expiresAt, tokenType: issued.tokenType };
  }
}
