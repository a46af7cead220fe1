import { asksForRoles, meetsRequirement, requireAnyOf, type RoleRequirement } from '../../domain/access/role-requirement';
import { effectiveRoles, Role } from '../../domain/access/roles';
import { credentialRefused } from '../../domain/errors';
import { PartnerAccessTokenService } from '../partners/partner-access-tokens';
import { actorOf, eventMetadata, type Principal, type RequestContext } from '../request-context';
import { requireRole, visibleTo } from '../tenant-access';
import type { Clock } from '../clock';
import type { AuthFailureLimiter } from '../rate-limits';
import type { TokenUsageRecorder } from '../tokens/usage-recorder';
import type { UsageMetering, UsageRequest } from '../tokens/usage-metering';
import type { VerificationCounter } from '../tokens/verification-counter';
import type { AuthenticationFailure, AuthenticationFailures } from './failure-record';
import type { PrivilegedVerifications } from './privileged-verifications';
import type { TokenCredentials } from './token-credentials';
import type { Verification } from './verification';

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

export interface CredentialVerifierDependencies {
  /** keyledger's own tokens in every form they are presented. */
  tokens: TokenCredentials;
  /** Partner access JWTs (`typ: at+jwt`). */
  accessTokens: PartnerAccessTokenService;
  usage: TokenUsageRecorder;
  clock: Clock;
  /** Where refused credentials that name a tenant are recorded. */
  failures: AuthenticationFailures;
  /** Counts refusals against their address, and refuses a spent address up front. */
  failureLimit: AuthFailureLimiter;
  /** Where `verifyToken` checks of credentials holding keyledger roles are recorded. */
  privileged: PrivilegedVerifications;
  /** Credits and rate limits of tokens, checked by metered verifications. */
  metering?: UsageMetering;
  /** Where the outcomes of verifications are counted for usage analytics. */
  counts?: Pick<VerificationCounter, 'count'>;
}

/**
 * Every credential a caller may present, dispatched on its shape: partner access JWTs
 * (`typ: at+jwt`) to the partner access-token service, anything else to keyledger's own
 * tokens. Answers both questions asked of a credential: who a bearer is (`authenticate`) and
 * what a presented credential is worth to a caller (`verifyToken`).
 */
export class CredentialVerifier {
  private readonly tokens: TokenCredentials;
  private readonly accessTokens: PartnerAccessTokenService;
  private readonly usage: TokenUsageRecorder;
  private readonly clock: Clock;
  private readonly failures: AuthenticationFailures;
  private readonly failureLimit: AuthFailureLimiter;
  private readonly privileged: PrivilegedVerifications;
  private readonly metering: UsageMetering | null;
  private readonly counts: Pick<VerificationCounter, 'count'> | null;

  constructor(dependencies: CredentialVerifierDependencies) {
    ({
      tokens: this.tokens,
      accessTokens: this.accessTokens,
      usage: this.usage,
      clock: this.clock,
      failures: this.failures,
      failureLimit: this.failureLimit,
      privileged: this.privileged,
    } = dependencies);
    this.metering = dependencies.metering ?? null;
    this.counts = dependencies.counts ?? null;
  }

  /**
   * The principal a bearer credential stands for; UNAUTHENTICATED when it is not a valid one,
   * RATE_LIMITED without looking at it when its address has failed too often.
   */
  authenticate(presented: string, ip?: string, request?: PresentedWith): Promise<Principal> {
    return this.failureLimit.guard(ip, () => this.authenticateOnce(presented, ip, request), request?.addressChecked);
  }

  private async authenticateOnce(presented: string, ip: string | undefined, request: PresentedWith | undefined): Promise<Principal> {
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

  private recordFailure(failure: AuthenticationFailure, ip: string | undefined, request: PresentedWith | undefined): void {
    this.failures.record(failure, ip, request);
  }

  accepts(presented: string): boolean {
    return this.accessTokens.accepts(presented);
  }

  /**
   * Checks a credential presented to one of the caller's own services: a secret, an
   * integration key's `keyId:secret` (bare or as HTTP Basic), an HS256 JWT signed with it, or
   * a partner access JWT. An invalid credential is a result, not an error; a credential of
   * another tenant reads as NOT_FOUND.
   */
  async verifyToken(
    ctx: RequestContext,
    presented: string,
    requiredRoles: readonly string[] = [],
    anyOf: ReadonlyArray<readonly string[]> | null = null,
    usage: UsageRequest | null = null,
  ): Promise<Verification> {
    const caller = await requireRole(ctx, Role.tokensRead);
    const requirement: RoleRequirement = { allOf: requiredRoles, anyOf: requireAnyOf(anyOf) };
    const metered = usage && this.metering ? this.metering.validate(usage) : null;
    if (this.accessTokens.accepts(presented)) return this.verifyAccessToken(caller, presented, requirement);
    const verification = await this.tokens.verifyPresented(presented, ctx.ip, caller);
    if (verification.record && !visibleTo(caller, verification.record.tenantId)) return { code: 'NOT_FOUND', record: null };
    const outcome = this.withRequiredRoles(verification, requirement);
    if (outcome.record) this.privileged.record(ctx, caller, outcome, requirement);
    const answer = metered ? await this.metered(ctx, caller, outcome, metered) : outcome;
    // Only verifyToken's own answers are usage; OAuth introspection and revocation look without counting.
    if (metered && answer.record) this.counts?.count(answer.record.tenantId, answer.record.id, answer.code);
    return answer;
  }

  /** A valid token's usage controls, when it has any: they may still refuse it. */
  private async metered(ctx: RequestContext, caller: Principal, outcome: Verification, request: UsageRequest): Promise<Verification> {
    if (outcome.code !== 'VALID' || !outcome.record) return outcome;
    const usage = await this.metering!.use(outcome.record, request, () => eventMetadata(ctx, actorOf(caller), this.clock.now()));
    return usage ? { code: usage.code, record: outcome.record, usage } : outcome;
  }

  private withRequiredRoles(verification: Verification, requirement: RoleRequirement): Verification {
    if (verification.code !== 'VALID' || !verification.record) return verification;
    if (asksForRoles(requirement)) {
      const held = effectiveRoles(verification.record.roles);
      for (const role of verification.record.roles) held.add(role);
      if (!meetsRequirement(held, requirement)) return { code: 'INSUFFICIENT_ROLES', record: verification.record };
    }
    this.usage.record(verification.record.id, this.clock.now());
    return { code: 'VALID', record: this.usage.withPendingUse(verification.record) };
  }

  /**
   * A partner access JWT, under the same tenant rules as API tokens: a token of another
   * tenant reads as NOT_FOUND. It holds no roles, so any required role is missing.
   */
  private async verifyAccessToken(caller: Principal, presented: string, requirement: RoleRequirement): Promise<Verification> {
    const { code, claims } = await this.accessTokens.verify(presented);
    if (claims && !visibleTo(caller, claims.tenantId)) return { code: 'NOT_FOUND', record: null };
    if (code !== 'VALID') return { code, record: null };
    if (asksForRoles(requirement)) return { code: 'INSUFFICIENT_ROLES', record: null };
    return { code: 'VALID', record: null };
  }
}
