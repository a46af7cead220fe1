import { holdsRole, Role } from '../../domain/access/roles';
import { forbidden } from '../../domain/errors';
import type { PartnerCredentialRecord } from '../../../projections/partners';
import type { CredentialVerifier } from '../credentials/credential-verifier';
import type { PartnerAccessTokenService } from '../partners/partner-access-tokens';
import type { Principal, RequestContext } from '../request-context';
import { visibleTo } from '../tenant-access';

/** Who asks: a keyledger bearer token (with its request), or a partner authenticated by its client credentials. */
export type OAuthCaller =
  | { type: 'bearer'; principal: Principal; ctx: RequestContext }
  | { type: 'partner'; credential: PartnerCredentialRecord };

/** RFC 7662 §2.2: `active` and, only when active, the token's claims. */
export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

/** Extra context a resource server may pass: the token must have been issued for this pair. */
export interface IntrospectionContext {
  tenantId?: string | null;
  subTenantId?: string | null;
}

const INACTIVE: IntrospectionResponse = { active: false };

/**
 * RFC 7662 token introspection for both kinds of credential. Whatever makes a token unusable
 * to this caller — unknown, expired, revoked, another tenant's, another client's, issued for
 * another tenant pair — gives the same bare `{"active": false}`.
 */
export class TokenIntrospection {
  constructor(
    private readonly credentials: Pick<CredentialVerifier, 'verifyToken'>,
    private readonly accessTokens: PartnerAccessTokenService,
  ) {}

  async introspect(caller: OAuthCaller, token: string, context: IntrospectionContext = {}): Promise<IntrospectionResponse> {
    if (caller.type === 'bearer' && !holdsRole(caller.principal.roles, Role.tokensRead)) {
      throw forbidden(`Introspection requires the ${Role.tokensRead} role`);
    }
    if (this.accessTokens.accepts(token)) return this.introspectAccessToken(caller, token, context);
    if (caller.type !== 'bearer') return INACTIVE;
    return this.introspectApiToken(caller.ctx, token, context);
  }

  private async introspectAccessToken(caller: OAuthCaller, token: string, context: IntrospectionContext): Promise<IntrospectionResponse> {
    const { code, claims } = await this.accessTokens.verify(token);
    if (code !== 'VALID' || !claims) return INACTIVE;
    const allowed = caller.type === 'bearer' ? visibleTo(caller.principal, claims.tenantId) : caller.credential.id === claims.credentialId;
    if (!allowed || !matches(context, claims.tenantId, claims.subTenantId)) return INACTIVE;
    return {
      active: true,
      token_type: 'Bearer',
      client_id: claims.clientId,
      sub: claims.credentialId,
      aud: claims.audience,
      iss: claims.issuer,
      jti: claims.jti,
      iat: seconds(claims.issuedAt),
      exp: seconds(claims.expiresAt),
      tenant_id: claims.tenantId,
      sub_tenant_id: claims.subTenantId,
    };
  }

  /** The token service applies its own tenant rules: another tenant's token is NOT_FOUND. */
  private async introspectApiToken(ctx: RequestContext, token: string, context: IntrospectionContext): Promise<IntrospectionResponse> {
    const { code, record } = await this.credentials.verifyToken(ctx, token);
    if (code !== 'VALID' || !record) return INACTIVE;
    if (!matches({ tenantId: context.tenantId }, record.tenantId, null)) return INACTIVE;
    return {
      active: true,
      token_type: 'Bearer',
      sub: record.id,
      tenant_id: record.tenantId,
      kind: record.kind,
      scope: record.roles.join(' '),
      iat: seconds(record.createdAt),
      ...(record.expiresAt ? { exp: seconds(record.expiresAt) } : {}),
    };
  }
}

function matches(context: IntrospectionContext, tenantId: string, subTenantId: string | null): boolean {
  if (context.tenantId != null && context.tenantId !== tenantId) return false;
  if (context.subTenantId != null && context.subTenantId !== subTenantId) return false;
  return true;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
