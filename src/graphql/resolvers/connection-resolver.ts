import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { ConnectionService } from '../../app/connections/connection-service';
import type { ConnectionRecord } from '../../../projections/connections';
import type { GraphQLContext } from '../context';
import { decodeCursor, pageSize, toConnection } from '../pagination';
import {
  ApiKeyConnection,
  ApiKeyConnectionConnection,
  ApiKeyCredential,
  CreateApiKeyConnectionInput,
  REDACTED_API_KEY,
  UpdateApiKeyConnectionInput,
} from '../types/connection-types';

const CURSOR_KIND = 'connection';

export function toApiKeyConnection(record: ConnectionRecord): ApiKeyConnection {
  return {
    name: record.name,
    integration: record.integration,
    tenantId: record.tenantId,
    headerName: record.headerName,
    apiKey: REDACTED_API_KEY,
    allowedDomain: record.allowedDomain,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

@Resolver(() => ApiKeyConnection)
export class ConnectionResolver {
  constructor(private readonly connections: ConnectionService) {}

  @Query(() => ApiKeyConnection, { nullable: true, description: "A connection of the caller's tenant; null if there is none by that name there" })
  async apiKeyConnection(
    @Arg('integration', () => String) integration: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
  ): Promise<ApiKeyConnection | null> {
    const record = await this.connections.get(ctx, { integration, name, tenantId });
    return record && toApiKeyConnection(record);
  }

  @Query(() => ApiKeyConnectionConnection, { description: "An integration's connections, newest first" })
  async apiKeyConnections(
    @Arg('integration', () => String) integration: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
  ): Promise<ApiKeyConnectionConnection> {
    const page = await this.connections.list(ctx, { integration, first: pageSize(first), afterSeq: decodeCursor(CURSOR_KIND, after), tenantId });
    return { ...toConnection(CURSOR_KIND, page, (record) => toApiKeyConnection(record)), totalCount: page.totalCount };
  }

  @Mutation(() => ApiKeyConnection, { description: 'Stores an API key encrypted, under a data key of its own' })
  async createApiKeyConnection(
    @Arg('input', () => CreateApiKeyConnectionInput) input: CreateApiKeyConnectionInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApiKeyConnection> {
    return toApiKeyConnection(await this.connections.create(ctx, input));
  }

  @Mutation(() => ApiKeyConnection, { description: 'Changes the given fields; a new apiKey gets a new data key and the old one is destroyed' })
  async updateApiKeyConnection(
    @Arg('input', () => UpdateApiKeyConnectionInput) input: UpdateApiKeyConnectionInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ApiKeyConnection> {
    return toApiKeyConnection(await this.connections.update(ctx, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes the connection and destroys its key for good; the name can then be used again' })
  async deleteApiKeyConnection(
    @Arg('integration', () => String) integration: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
  ): Promise<boolean> {
    await this.connections.delete(ctx, { integration, name, tenantId });
    return true;
  }

  @Mutation(() => ApiKeyCredential, {
    description:
      'The key, for one request to url: https only, no credentials in the URL, and the host must be the allowed domain ' +
      '(or, for *.domain, one of its subdomains). Requires keyledger:connections:use. Each use is recorded for the audit history.',
  })
  async useApiKeyConnection(
    @Arg('integration', () => String) integration: string,
    @Arg('name', () => String) name: string,
    @Arg('url', () => String) url: string,
    @Ctx() ctx: GraphQLContext,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
  ): Promise<ApiKeyCredential> {
    return this.connections.use(ctx, { integration, name, url, tenantId });
  }
}
