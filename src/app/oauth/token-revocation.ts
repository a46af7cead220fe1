import { holdsRole, Role } from '../../domain/access/roles';
import { forbidden, KeyledgerError } from '../../domain/errors';
import type { PartnerAccessTokenService } from '../partners/partner-access-tokens';
import { actorOf, type RequestContext } from '../request-context';
import { visibleTo } from '../tenant-access';
import type { CredentialVerifier } from '../credentials/credential-verifier';
import type { TokenService } from '../tokens/token-service';
import type { OAuthCaller } from './token-introspection';

const REASON = 'revoked through /oauth/revoke';

/**
 * RFC 7009 token revocation for both kinds of credential. A token that is unknown, already
 * dead, or not the caller's to revoke is answered like a revoked one (§2.2: the response
 * does not tell), so the endpoint cannot be used to probe for tokens.
 */
export class TokenRevocation {
  constructor(
    private readonly credentials: Pick<CredentialVerifier, 'verifyToken'>,
    private readonly tokens: Pick<TokenService, 'revokeToken'>,
    private readonly accessTokens: PartnerAccessTokenService,
  ) {}

  async revoke(caller: OAuthCaller, ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>, token: string): Promise<void> {
    if (caller.type === 'bearer' && !holdsRole(caller.principal.roles, Role.tokensWrite)) {
      throw forbidden(`Revocation requires the ${Role.tokensWrite} role`);
    }
    if (this.accessTokens.accepts(token)) return this.revokeAccessToken(caller, ctx, token);
    if (caller.type === 'bearer') return this.revokeApiToken(caller.ctx, token);
  }

  private async revokeAccessToken(
    caller: OAuthCaller,
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    token: string,
  ): Promise<void> {
    const { code, claims } = await this.accessTokens.verify(token);
    if (code !== 'VALID' || !claims) return;
    const allowed = caller.type === 'bearer' ? visibleTo(caller.principal, claims.tenantId) : caller.credential.id === claims.credentialId;
    if (!allowed) return;
    const actor =
      caller.type === 'bearer' ? actorOf(caller.principal) : { type: 'partner' as const, id: caller.credential.id, tenantId: caller.credential.tenantId };
    await leftAlone(this.accessTokens.revoke(ctx, actor, claims.jti, REASON));
  }

  /**
   * The token service applies its own tenant rules: another tenant's token is NOT_FOUND, and
   * one holding keyledger roles the caller lacks is FORBIDDEN; both are left alone and
   * answered like any other token (§2.2), since what a token holds is not the caller's to learn here.
   */
  private async revokeApiToken(ctx: RequestContext, token: string): Promise<void> {
    const { code, record } = await this.credentials.verifyToken(ctx, token);
    if (!record || code === 'REVOKED') return;
    await leftAlone(this.tokens.revokeToken(ctx, { id: record.id, reason: REASON }), ['NOT_FOUND', 'FORBIDDEN']);
  }
}

async function leftAlone(operation: Promise<unknown>, codes: readonly string[] = ['NOT_FOUND']): Promise<void> {
  try {
    await operation;
  } catch (error) {
    if (error instanceof KeyledgerError && codes.includes(error.code)) return;
    throw error;
  }
}
