import type { TokenQueries } from '../../../projections/tokens';
import type { SecretSealer } from '../../crypto/envelope';
import type { SecretHasher } from '../../crypto/secret-hash';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { ConnectionAccessRecorder } from '../connections/access-recorder';
import type { PartnerAccessTokenService } from '../partners/partner-access-tokens';
import type { AuthFailureLimiter, LimiterFactory } from '../rate-limits';
import type { TokenUsageRecorder } from '../tokens/usage-recorder';
import type { UsageMetering } from '../tokens/usage-metering';
import type { VerificationCounter } from '../tokens/verification-counter';
import { ChosenSecretLimiter } from './chosen-secret-limiter';
import { CredentialVerifier } from './credential-verifier';
import { AuthenticationFailures } from './failure-record';
import { PrivilegedVerifications } from './privileged-verifications';
import { SecretLookupCache } from './secret-lookup-cache';
import { TokenCredentials } from './token-credentials';

export interface CredentialModule {
  /** Every credential form, for authentication and `verifyToken`. */
  verifier: CredentialVerifier;
  /** keyledger's own tokens only (no partner JWTs, no failure records): WebSocket authentication. */
  tokens: TokenCredentials;
}

export interface CredentialModuleOptions {
  tokens: {
    queries: TokenQueries;
    hasher: SecretHasher;
    sealer: Pick<SecretSealer, 'open'>;
    usage: TokenUsageRecorder;
    metering?: UsageMetering;
    verificationCounts?: VerificationCounter;
  };
  /** Changes whenever the read models may have changed: what keeps looked-up secrets standing. */
  readModelVersion(): string;
  accessTokens: PartnerAccessTokenService;
  /** Where failed authentications and privileged verifications are recorded. */
  access: Pick<ConnectionAccessRecorder, 'recordIfRoom'>;
  authFailures: AuthFailureLimiter;
  /** Where the argon2 failure counters live; in this process when not given. */
  limiters?: LimiterFactory;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
}

/** Where a presented credential is judged, built with everything it needs. */
export function openCredentialModule(options: CredentialModuleOptions): CredentialModule {
  const { clock } = options;
  const tokens = new TokenCredentials({
    ...options.tokens,
    secrets: new SecretLookupCache({ read: options.tokens.queries, readModelVersion: options.readModelVersion }),
    limiter: new ChosenSecretLimiter(undefined, options.limiters),
    clock,
    logger: options.logger,
  });
  const verifier = new CredentialVerifier({
    tokens,
    accessTokens: options.accessTokens,
    usage: options.tokens.usage,
    clock,
    failures: new AuthenticationFailures(options.access, clock),
    failureLimit: options.authFailures,
    privileged: new PrivilegedVerifications(options.access, clock),
    metering: options.tokens.metering,
    counts: options.tokens.verificationCounts,
  });
  return { verifier, tokens };
}
