import type { OtherCredentialVerifier, TokenService, Verification } from '../tokens/token-service';
import { credentialRefused } from '../../domain/errors';
import { PartnerAccessTokenService } from '../partners/partner-access-tokens';
import type { Principal } from '../request-context';
import { visibleTo } from '../tenant-access';
import type { Clock } from '../clock';
import type { AuthenticationFailed } from '../../domain/access/events';
import type { ConnectionAccessRecorder } from '../connections/access-recorder';
import type { EventMetadata } from '../../eventstore/port';
import type { AuthFailureLimiter } from '../rate-limits';

/** The request a credential came with, for the record of a failed authentication. */
export interface PresentedWith {
  requestId: string;
  userAgent?: string;
  /** The transport already found the address not locked out for this request. */
  addressChecked?: boolean;
  /**
   * The route also takes an integration key as Sunshine Conversations clients present it
   * (HTTP Basic `keyId:secret`, or an HS256 JWT with `scope: app`), besides a bearer secret.
   */
  integrationKeyForms?: boolean;
}

/** Who a failed authentication is recorded as: the caller proved nothing, so no identity is claimed for it. */
const UNAUTHENTICATED_ACTOR = { type: 'system', id: 'unauthenticated', tenantId: null } as const;

/**
 * Every credential a caller may present, dispatched on its shape: partner access JWTs
 * (`typ: at+jwt`) to the partner access-token service, anything else to the token service.
 */
export class CredentialVerifier implements OtherCredentialVerifier {
  private failures: { recorder: Pick<ConnectionAccessRecorder, 'recordIfRoom'>; clock: Clock } | null = null;
  private failureLimit: AuthFailureLimiter | null = null;

  constructor(
    private readonly tokens: TokenService,
    private readonly accessTokens: PartnerAccessTokenService,
  ) {}

  /** Failed authentications are recorded as access records from then on. */
  recordFailuresWith(recorder: Pick<ConnectionAccessRecorder, 'recordIfRoom'>, clock: Clock): void {
    this.failures = { recorder, clock };
  }

  /** Refused credentials count against their address from then on, and a spent address is refused up front. */
  limitFailuresWith(limiter: AuthFailureLimiter): void {
    this.failureLimit = limiter;
  }

  /**
   * The principal a bearer credential stands for; UNAUTHENTICATED when it is not a valid one,
   * RATE_LIMITED without looking at it when its address has failed too often.
   */
  authenticate(presented: string, ip?: string, request?: PresentedWith): Promise<Principal> {
    if (!this.failureLimit) return this.verify(presented, ip, request);
    return this.failureLimit.guard(ip, () => this.verify(presented, ip, request), request?.addressChecked);
  }

  private async verify(presented: string, ip: string | undefined, request: PresentedWith | undefined): Promise<Principal> {
    if (!this.accessTokens.accepts(presented)) {
      const onFailure = ({ code, record }: Verification) =>
        this.recordFailure({ tenantId: record?.tenantId ?? null, credentialId: record?.id ?? null, credentialType: 'token', code }, ip, request);
      return request?.integrationKeyForms
        ? this.tokens.authenticateIntegrationKey(presented, ip, onFailure)
        : this.tokens.authenticate(presented, ip, onFailure);
    }
    const { code, claims } = await this.accessTokens.verify(presented);
    if (code !== 'VALID' || !claims) {
      this.recordFailure({ tenantId: claims?.tenantId ?? null, credentialId: claims?.jti ?? null, credentialType: 'partner', code }, ip, request);
      throw credentialRefused(code);
    }
    return PartnerAccessTokenService.principalOf(claims);
  }

  private recordFailure(
    failure: Omit<AuthenticationFailed['data'], 'code' | 'failedAt'> & { code: string },
    ip: string | undefined,
    request: PresentedWith | undefined,
  ): void {
    // A credential that is no one's names no tenant to record it for, and anyone can make up
    // such credentials at line rate: recording them would let anonymous callers grow the log.
    if (!this.failures || failure.tenantId === null) return;
    const code = failure.code === 'REVOKED' || failure.code === 'EXPIRED' || failure.code === 'MALFORMED' ? failure.code : 'NOT_FOUND';
    const now = this.failures.clock.now();
    const metadata: EventMetadata = { actor: UNAUTHENTICATED_ACTOR, requestId: request?.requestId ?? 'unknown', occurredAt: now.toISOString() };
    if (ip) metadata.ip = ip;
    if (request?.userAgent) metadata.userAgent = request.userAgent.slice(0, 512);
    this.failures.recorder.recordIfRoom<AuthenticationFailed>('AuthenticationFailed', { ...failure, code, failedAt: now.toISOString() }, metadata);
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
