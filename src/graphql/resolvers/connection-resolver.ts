import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, ID, Info, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { ConnectionService } from '../../app/connections/connection-service';
import { requireRole } from '../../app/tenant-access';
import { Role } from '../../domain/access/roles';
import { CONNECTION_NOT_FOUND } from '../../domain/connections';
import { notFound } from '../../domain/errors';
import type { IdempotentOutcome } from '../../domain/idempotency';
import type { ConnectionRecord } from '../../../projections/connections';
import type { GraphQLContext } from '../context';
import { IDEMPOTENCY_KEY_DESCRIPTION, outcomeOf, REEXECUTED_IDEMPOTENCY_KEY_DESCRIPTION, type IdempotentMutations } from '../idempotency';
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
  constructor(
    private readonly connections: ConnectionService,
    private readonly idempotency: IdempotentMutations,
  ) {}

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
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<ApiKeyConnection> {
    return this.changeConnection(ctx, info, idempotencyKey, { input }, input.apiKey, () => this.connections.create(ctx, input));
  }

  @Mutation(() => ApiKeyConnection, { description: 'Changes the given fields; a new apiKey gets a new data key and the old one is destroyed' })
  async updateApiKeyConnection(
    @Arg('input', () => UpdateApiKeyConnectionInput) input: UpdateApiKeyConnectionInput,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<ApiKeyConnection> {
    return this.changeConnection(ctx, info, idempotencyKey, { input }, input.apiKey, () => this.connections.update(ctx, input));
  }

  @Mutation(() => Boolean, { description: 'Deletes the connection and destroys its key for good; the name can then be used again' })
  async deleteApiKeyConnection(
    @Arg('integration', () => String) integration: string,
    @Arg('name', () => String) name: string,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
    @Arg('idempotencyKey', () => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<boolean> {
    return this.idempotency.run(ctx, info, idempotencyKey, { integration, name, tenantId }, {
      execute: async () => {
        await this.connections.delete(ctx, { integration, name, tenantId });
        return { value: true, outcome: { type: 'connection-deleted', integration, name } };
      },
      // Nothing is left to read back; the caller must still be allowed to delete connections.
      replay: async () => {
        await requireRole(ctx, Role.connectionsWrite);
        return true;
      },
    });
  }

  @Mutation(() => ApiKeyCredential, {
    description:
      'The key, for one request to url: https only, the URL exactly as URL parsers serialise it (no backslash, whitespace, ' +
      'credentials or encoded host: BAD_USER_INPUT AMBIGUOUS_URL), and the host must be the allowed domain ' +
      '(or, for *.domain, one of its subdomains). Requires keyledger:connections:use. Each use is recorded for the audit history.',
  })
  async useApiKeyConnection(
    @Arg('integration', () => String) integration: string,
    @Arg('name', () => String) name: string,
    @Arg('url', () => String) url: string,
    @Ctx() ctx: GraphQLContext,
    @Info() info: GraphQLResolveInfo,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string | null,
    @Arg('idempotencyKey', () => String, { nullable: true, description: REEXECUTED_IDEMPOTENCY_KEY_DESCRIPTION }) idempotencyKey?: string | null,
  ): Promise<ApiKeyCredential> {
    return this.idempotency.reexecute(ctx, info, idempotencyKey, () => this.connections.use(ctx, { integration, name, url, tenantId }));
  }

  /** A mutation whose answer is the connection it created or changed. */
  private changeConnection(
    ctx: GraphQLContext,
    info: GraphQLResolveInfo,
    idempotencyKey: string | null | undefined,
    args: Record<string, unknown>,
    apiKey: string | null | undefined,
    change: () => Promise<ConnectionRecord>,
  ): Promise<ApiKeyConnection> {
    return this.idempotency.run(ctx, info, idempotencyKey, args, {
      execute: async () => {
        const record = await change();
        const { connectionId, tenantId, integration, name } = record;
        const sealedWith = apiKey == null ? {} : { apiKeyDataKeyId: record.sealedApiKey.dataKeyId };
        return { value: toApiKeyConnection(record), outcome: { type: 'connection', connectionId, tenantId, integration, name, ...sealedWith } };
      },
      replay: (outcome) => this.connectionOf(ctx, outcome),
      sameSecrets: async (outcome) => {
        const { connectionId, tenantId, integration, name, apiKeyDataKeyId } = outcomeOf(outcome, 'connection');
        // Recorded before data keys were noted, or without a key: nothing to compare with.
        if (apiKey == null || !apiKeyDataKeyId) return null;
        return this.connections.apiKeyMatches({ tenantId, integration, name }, connectionId, apiKeyDataKeyId, apiKey);
      },
    });
  }

  /** The connection a replayed request created or changed, as it is now; one deleted since (even if its name was reused) is gone. */
  private async connectionOf(ctx: GraphQLContext, outcome: IdempotentOutcome): Promise<ApiKeyConnection> {
    const { connectionId, tenantId, integration, name } = outcomeOf(outcome, 'connection');
    const record = await this.connections.get(ctx, { integration, name, tenantId });
    if (!record || record.connectionId !== connectionId) throw notFound(CONNECTION_NOT_FOUND);
    return toApiKeyConnection(record);
  }
}
