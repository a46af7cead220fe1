import type { UsageOutcome } from '../tokens/usage-metering';
import type { TokenRecord } from '../../../projections/tokens';

/** A verdict on a presented credential. An invalid credential is a result, not an error. */
export type VerificationCode = 'VALID' | 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED' | 'INSUFFICIENT_ROLES' | 'DISABLED' | UsageCode;

/** Refusals of a valid credential by its usage controls. */
export type UsageCode = 'USAGE_EXCEEDED' | 'RATE_LIMITED';

export interface Verification {
  code: VerificationCode;
  record: TokenRecord | null;
  /** What a metered verification used of a token with usage controls. */
  usage?: UsageOutcome | null;
}
