import { decodeJwt } from 'jose';
import { credentialRefused, KeyledgerError, unauthenticated } from '../../domain/errors';
import { secretStatus } from '../../domain/tokens/status';
import type { SecretSealer } from '../../crypto/envelope';
import { readJwsHeader } from '../../crypto/jose-header';
import { isArgon2Hash, type SecretHasher } from '../../crypto/secret-hash';
import { parseToken } from '../../crypto/token-format';
import type { SecretMatch, TokenQueries } from '../../../projections/tokens';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { Principal } from '../request-context';
import { visibleTo } from '../tenant-access';
import type { TokenUsageRecorder } from '../tokens/usage-recorder';
import type { ChosenSecretLimiter } from './chosen-secret-limiter';
import { checkIntegrationKeyJwt } from './integration-key-jwt';
import { classifyPresented } from './presented-credential';
import { CHOSEN_SECRET_PATTERN, GENERATED_SHAPE, KEYLEDGER_PREFIX, MAX_PRESENTED_LENGTH, MAX_SECRET_LENGTH, MIN_CHOSEN_SECRET_LENGTH } from './secret-shapes';
import type { Verification } from './verification';
import { VerifiedSecretCache } from './verified-secret-cache';

export interface TokenCredentialsDependencies {
  queries: TokenQueries;
  /** Where generated secrets are looked up by their lookup hash; `queries` when not given. */
  secrets?: Pick<TokenQueries, 'bySecretHash'>;
  hasher: SecretHasher;
  /** Opens the sealed secrets of integration keys, to check the JWTs signed with them. */
  sealer: Pick<SecretSealer, 'open'>;
  usage: TokenUsageRecorder;
  limiter: ChosenSecretLimiter;
  clock: Clock;
  logger: Pick<Logger, 'warn'>;
}

/**
 * Judges the credentials keyledger's tokens are presented as: generated secrets (decided by
 * checksum, then one indexed read), chosen and imported secrets (argon2 against every hash
 * of their lookup tag, verdicts cached), an integration key's `keyId:secret` (bare or HTTP
 * Basic) and HS256 JWTs signed with an integration key's secret.
 */
export class TokenCredentials {
  private readonly verifiedChosenSecrets = new VerifiedSecretCache();
  private readonly queries: TokenQueries;
  private readonly secrets: Pick<TokenQueries, 'bySecretHash'>;
  private readonly hasher: SecretHasher;
  private readonly sealer: Pick<SecretSealer, 'open'>;
  private readonly usage: TokenUsageRecorder;
  private readonly limiter: ChosenSecretLimiter;
  private readonly clock: Clock;
  private readonly logger: Pick<Logger, 'warn'>;

  constructor(dependencies: TokenCredentialsDependencies) {
    ({
      queries: this.queries,
      hasher: this.hasher,
      sealer: this.sealer,
      usage: this.usage,
      limiter: this.limiter,
      clock: this.clock,
      logger: this.logger,
    } = dependencies);
    this.secrets = dependencies.secrets ?? this.queries;
  }

  /**
   * The principal a bearer credential stands for; UNAUTHENTICATED when it is not a valid one.
   * Only bare secrets authenticate: a client-signed JWT proves the client knows an
   * integration key, which is for the tenant's services to accept, not keyledger's API.
   */
  async authenticate(presented: string, ip?: string, onFailure?: (failure: Verification) => void): Promise<Principal> {
    // A bearer shaped like a JWT is no secret: it is malformed here, and never looked up.
    const jwtShaped = readJwsHeader(presented).form !== 'not-jws';
    return this.principalOf(jwtShaped ? { code: 'MALFORMED', record: null } : await this.verifySecret(presented, ip), onFailure);
  }

  /**
   * Authentication as Sunshine Conversations clients present an integration key, for the
   * routes that mirror its API: `Basic base64(keyId:secret)`, an HS256 JWT signed with the
   * secret (header `kid` = key id) whose payload says `scope: "app"`, or a bare secret. The
   * forms are checked exactly as `verifyToken` checks them; the key then acts with its own
   * roles, in its own tenant, like any credential.
   */
  async authenticateIntegrationKey(presented: string, ip?: string, onFailure?: (failure: Verification) => void): Promise<Principal> {
    // The credential speaks for itself here: no caller's tenant rule applies, and every refusal reads alike.
    const verification = await this.verifyPresented(presented, ip, null);
    if (verification.code === 'VALID' && classifyPresented(presented).form === 'jwt' && !appScoped(presented)) {
      onFailure?.({ code: 'MALFORMED', record: verification.record });
      // Other scopes (a user's JWT) stand for less than the app: they never reach its API.
      throw unauthenticated('An integration key JWT must carry the claim scope: "app" to call this API');
    }
    return this.principalOf(verification, onFailure);
  }

  private principalOf({ code, record }: Verification, onFailure?: (failure: Verification) => void): Principal {
    if (code !== 'VALID' || !record) {
      onFailure?.({ code, record });
      throw credentialRefused(code);
    }
    this.usage.record(record.id, this.clock.now());
    return { id: record.id, tenantId: record.tenantId, roles: record.roles, type: 'token' };
  }

  /**
   * Every accepted form: what `verifyToken` checks. A form that names its key (`keyId:secret`,
   * a JWT's `kid`) is looked at only when the key is the caller's to see: anything checked
   * before the tenant rule — a `crit` header, the signature's encoding — would tell a live
   * key of another tenant from a missing one. `caller` null: the key authenticates itself.
   */
  async verifyPresented(presented: string, ip: string | undefined, caller: Principal | null): Promise<Verification> {
    if (presented.length === 0 || presented.length > MAX_PRESENTED_LENGTH) return { code: 'MALFORMED', record: null };
    const credential = classifyPresented(presented);
    switch (credential.form) {
      case 'malformed':
        return { code: 'MALFORMED', record: null };
      case 'secret':
        return this.verifySecret(credential.secret, ip);
      case 'basic': {
        if (!this.namedKeyVisible(caller, credential.keyId)) return { code: 'NOT_FOUND', record: null };
        const verification = await this.verifySecret(credential.secret, ip);
        const { record } = verification;
        // The pair must agree: a valid secret of another key, or of another kind, proves nothing about this key id.
        if (record && (record.id !== credential.keyId || record.kind !== 'INTEGRATION_KEY')) return { code: 'NOT_FOUND', record: null };
        return verification;
      }
      case 'jwt':
        if (!this.namedKeyVisible(caller, credential.keyId)) return { code: 'NOT_FOUND', record: null };
        return this.verifyIntegrationKeyJwt(credential.keyId, credential.jwt);
    }
  }

  private namedKeyVisible(caller: Principal | null, keyId: string): boolean {
    const record = this.queries.byId(keyId);
    return record !== null && record.kind === 'INTEGRATION_KEY' && (caller === null || visibleTo(caller, record.tenantId));
  }

  /** Verification of a bare secret, without tenant rules. `ip` feeds the argon2 rate limit. */
  async verifySecret(presented: string, ip?: string): Promise<Verification> {
    if (presented.length === 0 || presented.length > MAX_SECRET_LENGTH) return { code: 'MALFORMED', record: null };
    if (GENERATED_SHAPE.test(presented)) {
      // Shaped like a generated token: the checksum decides without touching storage.
      if (parseToken(presented)) return this.secretOutcome(this.secrets.bySecretHash(this.hasher.lookupHash(presented)));
      // keyledger's own prefixes with a bad checksum are typos or forgeries: no storage is touched.
      if (KEYLEDGER_PREFIX.test(presented)) return { code: 'MALFORMED', record: null };
      // An imported secret may share the shape (`ghp_...`); it is found by its tag, and garbage stays MALFORMED.
      return this.verifyChosenSecret(presented, ip, 'MALFORMED');
    }
    return this.verifyChosenSecret(presented, ip, 'NOT_FOUND');
  }

  /**
   * A chosen secret is the credential it matches, checked against every argon2 hash of its
   * lookup tag, never just the first that matches: a secret held by two credentials (left by
   * an older version, which let two tenants import one secret) identifies neither and is
   * refused, whichever process or cache state checks it.
   */
  private async verifyChosenSecret(presented: string, ip: string | undefined, whenUnknown: 'MALFORMED' | 'NOT_FOUND'): Promise<Verification> {
    if (presented.length < MIN_CHOSEN_SECRET_LENGTH || !CHOSEN_SECRET_PATTERN.test(presented)) return { code: 'MALFORMED', record: null };
    const tag = this.hasher.lookupTag(presented);
    const candidates = this.queries.byLookupTag(tag).filter((candidate) => isArgon2Hash(candidate.secret.secretHash));
    if (candidates.length === 0) return { code: whenUnknown, record: null };
    const bucket = candidates
      .map((candidate) => candidate.secret.secretHash)
      .sort()
      .join('\n');
    const fingerprint = this.hasher.lookupHash(presented);
    const cached = this.verifiedChosenSecrets.get(fingerprint);
    if (cached && cached.bucket === bucket) {
      const match = candidates.find((candidate) => candidate.secret.secretHash === cached.secretHash);
      if (match) return this.secretOutcome(match);
    }
    const limit = await this.limiter.check(tag, ip);
    if (limit.limited) {
      throw new KeyledgerError('RATE_LIMITED', `Too many failed verifications of this credential; retry in ${limit.retryAfterSeconds} s`, {
        retryAfter: limit.retryAfterSeconds,
      });
    }
    const matches: SecretMatch[] = [];
    for (const candidate of candidates) {
      if (await this.hasher.argon2Verify(candidate.secret.secretHash, presented)) matches.push(candidate);
    }
    const holders = [...new Map(matches.map((match) => [match.record.id, match.record])).values()];
    if (holders.length === 1) {
      this.verifiedChosenSecrets.set(fingerprint, { secretHash: matches[0].secret.secretHash, bucket });
      return this.secretOutcome(matches[0]);
    }
    if (holders.length > 1) {
      this.logger.warn(
        { tokens: holders.map((record) => ({ tokenId: record.id, tenantId: record.tenantId })) },
        'a chosen secret is held by more than one credential and is refused for all of them; revoke all but one',
      );
      return { code: whenUnknown, record: null };
    }
    await this.limiter.recordFailure(tag, ip);
    return { code: whenUnknown, record: null };
  }

  /**
   * JWT outcomes: not HS256 (including `alg: none`), no usable `kid`, or claims that fail to
   * validate → MALFORMED; `kid` naming no integration key, or a signature no secret of the
   * key matches → NOT_FOUND (as a wrong secret would be); a valid signature with an `exp` in
   * the past → EXPIRED. A revoked key is REVOKED without a signature check: its data key is
   * destroyed, so there is nothing left to check with.
   */
  private async verifyIntegrationKeyJwt(keyId: string, jwt: string): Promise<Verification> {
    const record = this.queries.byId(keyId);
    if (!record || record.kind !== 'INTEGRATION_KEY') return { code: 'NOT_FOUND', record: null };
    if (record.revokedAt) return { code: 'REVOKED', record };
    const now = this.clock.now();
    for (const secret of this.queries.secretsOf(keyId)) {
      if (!secret.sealedSecret) continue;
      const plaintext = await this.sealer.open(secret.sealedSecret, keyId);
      if (plaintext === null) continue;
      const check = await checkIntegrationKeyJwt(jwt, plaintext, now);
      if (check === 'bad-signature') continue;
      if (check === 'invalid') return { code: 'MALFORMED', record: null };
      if (check === 'expired') return { code: 'EXPIRED', record };
      return this.secretOutcome({ secret, record });
    }
    return { code: 'NOT_FOUND', record: null };
  }

  private secretOutcome(match: SecretMatch | null): Verification {
    if (!match) return { code: 'NOT_FOUND', record: null };
    const status = secretStatus(match.secret, match.record, this.clock.now());
    // A pause is the only state that can be undone, so a revocation or an expiry speaks first.
    if (status === 'ACTIVE' && !match.record.enabled) return { code: 'DISABLED', record: match.record };
    return { code: status === 'ACTIVE' ? 'VALID' : status, record: match.record };
  }
}

/** Read only after the signature was checked: the payload of a JWT that already verified. */
function appScoped(jwt: string): boolean {
  try {
    return decodeJwt(jwt).scope === 'app';
  } catch {
    return false;
  }
}
