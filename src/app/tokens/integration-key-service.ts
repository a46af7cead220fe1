import { badInput, KeyledgerError, notFound } from '../../domain/errors';
import { requireIntegrationId, requireTenantId } from '../../domain/validation';
import type { TokenRecord } from '../../../projections/tokens';
import type { RequestContext } from '../request-context';
import { visibleTo } from '../tenant-access';
import type { TokenService } from './token-service';

export interface IntegrationKeyAddress {
  /** The app is the tenant. */
  appId: string;
  integrationId: string;
}

export interface IntegrationKeyView {
  id: string;
  displayName: string;
}

/**
 * Integration keys addressed as Sunshine Conversations addresses them: by app (tenant) and
 * integration, with a display name. A thin layer over the token service, which does the
 * authorization, the claims and the sealing; this adds only the addressing rules, where an
 * app the caller cannot see reads as missing rather than forbidden.
 */
export class IntegrationKeyService {
  constructor(private readonly tokens: TokenService) {}

  async create(ctx: RequestContext, address: IntegrationKeyAddress, displayName: unknown): Promise<IntegrationKeyView & { secret: string }> {
    const { appId, integrationId } = await this.address(ctx, address);
    if (typeof displayName !== 'string') throw badInput('displayName is required and must be a string', 'displayName');
    const { record, secret } = await asDisplayName(() =>
      this.tokens.issueToken(ctx, { kind: 'INTEGRATION_KEY', name: displayName, integrationId, tenantId: appId }),
    );
    return { ...view(record), secret };
  }

  async list(ctx: RequestContext, address: IntegrationKeyAddress): Promise<IntegrationKeyView[]> {
    const { appId, integrationId } = await this.address(ctx, address);
    const views: IntegrationKeyView[] = [];
    let afterSeq: number | null = null;
    for (;;) {
      const page = await this.tokens.listTokens(ctx, {
        first: 100,
        afterSeq,
        filter: { tenantId: appId, kind: 'INTEGRATION_KEY', integrationId, notRevoked: true },
      });
      views.push(...page.records.map(view));
      if (!page.hasNextPage || page.records.length === 0) return views.reverse();
      afterSeq = page.records[page.records.length - 1].seq;
    }
  }

  async get(ctx: RequestContext, address: IntegrationKeyAddress, keyId: string): Promise<IntegrationKeyView> {
    return view(await this.find(ctx, address, keyId));
  }

  /** Deleting is revoking: the key stops verifying at once and its secret is crypto-shredded. */
  async delete(ctx: RequestContext, address: IntegrationKeyAddress, keyId: string): Promise<void> {
    const record = await this.find(ctx, address, keyId);
    await this.tokens.revokeToken(ctx, { id: record.id, reason: 'deleted through the integration keys API' });
  }

  private async find(ctx: RequestContext, address: IntegrationKeyAddress, keyId: string): Promise<TokenRecord> {
    const { appId, integrationId } = await this.address(ctx, address);
    const record = await this.tokens.getToken(ctx, keyId);
    // A revoked key is a deleted one here, as in the API this mirrors.
    if (!record || record.tenantId !== appId || record.kind !== 'INTEGRATION_KEY' || record.integrationId !== integrationId || record.revokedAt) {
      throw notFound(`Integration key ${keyId} not found`);
    }
    return record;
  }

  private async address(ctx: RequestContext, address: IntegrationKeyAddress): Promise<IntegrationKeyAddress> {
    const appId = requireTenantId(address.appId, 'appId');
    const integrationId = requireIntegrationId(address.integrationId);
    const caller = await ctx.principal();
    if (!visibleTo(caller, appId)) throw notFound(`App ${appId} not found`);
    return { appId, integrationId };
  }
}

function view(record: TokenRecord): IntegrationKeyView {
  return { id: record.id, displayName: record.name };
}

/** The token's `name` is the key's `displayName`: errors about it should say so. */
async function asDisplayName<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof KeyledgerError && error.details.field === 'name') {
      throw new KeyledgerError(error.code, error.message.replace(/^name\b/, 'displayName'), { ...error.details, field: 'displayName' });
    }
    throw error;
  }
}
