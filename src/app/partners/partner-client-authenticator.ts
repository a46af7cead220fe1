import { unauthenticated } from '../../domain/errors';
import { SecretHasher } from '../../crypto/secret-hash';
import { parseToken } from '../../crypto/token-format';
import type { PartnerCredentialRecord, PartnerQueries } from '../../../projections/partners';
import type { AttemptLimiter } from './attempt-limiter';

export const API_KEY_PREFIX = 'klp';
export const API_SECRET_PREFIX = 'klps';

/** Longest API key or secret looked at; generated ones are far shorter. */
const MAX_PRESENTED_LENGTH = 128;

/**
 * Checks a partner's API key and secret (OAuth client_id and client_secret). Every failure
 * reads the same, UNAUTHENTICATED, so a caller cannot tell an unknown key from a wrong
 * secret or a revoked credential.
 */
export class PartnerClientAuthenticator {
  constructor(
    private readonly queries: PartnerQueries,
    private readonly hasher: SecretHasher,
    private readonly limiter: AttemptLimiter,
  ) {}

  async authenticate(apiKey: string, apiSecret: string, ip: string | undefined): Promise<PartnerCredentialRecord> {
    // Strings that are not generated keys cost no lookup, and no argon2, but still count
    // against the address, so that guessing at scale is refused early.
    const wellFormedKey = apiKey.length <= MAX_PRESENTED_LENGTH && parseToken(apiKey)?.prefix === API_KEY_PREFIX;
    await this.limiter.charge(ip, wellFormedKey ? apiKey : null);
    if (!wellFormedKey) throw invalidClient();
    if (apiSecret.length > MAX_PRESENTED_LENGTH || parseToken(apiSecret)?.prefix !== API_SECRET_PREFIX) throw invalidClient();
    const credential = this.queries.byApiKey(apiKey);
    if (!credential || !(await this.hasher.argon2Verify(credential.secretHash, apiSecret))) throw invalidClient();
    await this.limiter.refund(ip, apiKey);
    if (credential.revokedAt) throw unauthenticated('The partner credential has been revoked');
    return credential;
  }
}

function invalidClient() {
  return unauthenticated('The API key or secret is not valid');
}
