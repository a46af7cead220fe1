import type { TokenRecord } from '../../../projections/tokens';

/** A verdict on a presented credential. An invalid credential is a result, not an error. */
export type VerificationCode = 'VALID' | 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED' | 'INSUFFICIENT_ROLES' | 'DISABLED';

export interface Verification {
  code: VerificationCode;
  record: TokenRecord | null;
}
