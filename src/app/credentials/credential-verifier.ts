import type { OtherCredentialVerifier, TokenService, Verification } from '../tokens/token-service';
import { unauthenticated } from '../../domain/errors';
import { PartnerAccessTokenService } from '../partners/partner-access-tokens';
import type { Principal } from '../request-context';
import { visibleTo } from '../tenant-access';

/**
 * Every credential a caller may present, dispatched on its shape: partner access JWTs
 * (`typ: at+jwt`) to the partner access-token service, anything else to the token service.
 */
export class CredentialVerifier implements OtherCredentialVerifier {
  constructor(
    private readonly tokens: TokenService,
    private readonly accessTokens: PartnerAccessTokenService,
  ) {}

  /** The principal a bearer credential stands for; UNAUTHENTICATED when it is not a valid one. */
  async authenticate(presented: string, ip?: string): Promise<Principal> {
    if (!this.accessTokens.accepts(presented)) return this.tokens.authenticate(presented, ip);
    const { code, claims } = await this.accessTokens.verify(presented);
    if (code !== 'VALID' || !claims) {
      throw unauthenticated(
        code === 'REVOKED' ? 'The credential has been revoked' : code === 'EXPIRED' ? 'The credential has expired' : 'The credential is not valid',
      );
    }
    return PartnerAccessTokenService.principalOf(claims);
  }

  accepts(presented: string): boolean {
    return this.accessTokens.accepts(presented);
  }

  /**
   * `verifyToken` for a partner access JWT, under the same tenant rules as for API tokens: a
   * token of another tenant reads as NOT_FOUND. It holds no roles, so any required role is missing.
   */
  async verifyFor(caller: Principal, presented: string, requiredRoles: readonly string[]): Promise<Verification> {
    const { code, claims } = await this.accessTokens.verify(presented);
    if (claims && !visibleTo(caller, claims.tenantId)) return { code: 'NOT_FOUND', record: null };
    if (code !== 'VALID') return { code, record: null };
    if (requiredRoles.length > 0) return { code: 'INSUFFICIENT_ROLES', record: null };
    return { code: 'VALID', record: null };
  }
}
