import { Role, effectiveRoles, isKeyledgerRole, rolesBeyondCaller, unknownKeyledgerRoles } from '../../domain/access/roles';
import { decodeJwt } from 'jose';
import { badInput, conflict, forbidden, KeyledgerError, notFound, credentialRefused, unauthenticated } from '../../domain/errors';
import {
  decide,
  evolve,
  initialTokenState,
  tokenStreamId,
  type IssueToken,
  type SealedSecret,
  type SecretOrigin,
  type TokenCommand,
  type TokenEvent,
  type TokenKind,
  type TokenState,
} from '../../domain/tokens';
import { secretInUse } from '../../domain/token-claims';
import { requireRoles } from '../../domain/validation';
import { randomBase62 } from '../../crypto/base62';
import type { SecretSealer } from '../../crypto/envelope';
import { SecretHasher, isArgon2Hash } from '../../crypto/secret-hash';
import { displayOf, generateToken, parseToken } from '../../crypto/token-format';
import { readJwsHeader } from '../../crypto/jose-header';
import { WrongExpectedRevisionError, type Actor, type EventMetadata } from '../../eventstore/port';
import {
  tokenStatus,
  type SecretMatch,
  type TokenListFilter,
  type TokenPage,
  type TokenQueries,
  type TokenRecord,
  type TokenStatus,
} from '../../../projections/tokens';
import type { Logger } from '../../logger';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import type { PrivilegedTokenVerified } from '../../domain/access/events';
import type { ConnectionAccessRecorder } from '../connections/access-recorder';
import { actorOf, eventMetadata, SYSTEM_ACTOR, type Principal, type RequestContext } from '../request-context';
import { requireRole, targetTenant, tokenReadReach, tokenWriteReach, visibleTo, type TokenReach } from '../tenant-access';
import type { ChosenSecretLimiter } from './chosen-secret-limiter';
import { checkIntegrationKeyJwt } from './integration-key-jwt';
import { classifyPresented, TOKEN_ID_PATTERN } from './presented-credential';
import { ImportedSecretClaims } from './imported-secret-claims';
import { TokenClaims, type ClaimRequest } from './token-claims';
import type { TokenUsageRecorder } from './usage-recorder';
import { VerifiedSecretCache } from './verified-secret-cache';

export const TOKEN_PREFIXES: Record<TokenKind, string> = {
  API_TOKEN: 'klt',
  WEBHOOK_TOKEN: 'klw',
  INTEGRATION_KEY: 'kli',
};

/** The tenant that holds the root token(s). */
export const SYSTEM_TENANT = 'system';
export const BOOTSTRAP_TOKEN_ID = 'tok_bootstrap';

/** Longest secret verification looks at; anything longer is malformed, not looked up. */
const MAX_SECRET_LENGTH = 512;
/** Longest credential in any form (a JWT carries claims besides the key id). */
const MAX_PRESENTED_LENGTH = 4096;
/** Chosen or imported secrets must be at least this long to be accepted or looked up at all. */
const MIN_CHOSEN_SECRET_LENGTH = 16;
const CHOSEN_SECRET_PATTERN = /^[\x21-\x7e]+$/;
const GENERATED_SHAPE = /^[a-z][a-z0-9]{1,9}_[0-9A-Za-z]*$/;
/** Prefixes keyledger generates (`klt_`, `klw_`, `kli_`, `klp_`, `klps_`); nobody imports secrets shaped like them. */
const KEYLEDGER_PREFIX = /^kl[a-z]{1,3}_/;
/** A data key with no token this long after it was made belongs to an issue that failed. */
const ORPHANED_DATA_KEY_AGE_MS = 3600_000;

export type VerificationCode = 'VALID' | 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED' | 'INSUFFICIENT_ROLES';

export interface Verification {
  code: VerificationCode;
  record: TokenRecord | null;
}

/**
 * Credentials this service does not issue but `verifyToken` answers for, so callers keep one
 * query: partner access JWTs. The verifier applies the same tenant rules.
 */
export interface OtherCredentialVerifier {
  accepts(presented: string): boolean;
  verifyFor(caller: Principal, presented: string, requiredRoles: readonly string[]): Promise<Verification>;
}

export interface TokenKindFields {
  code?: string | null;
  botName?: string | null;
  avatarUrl?: string | null;
  ownerId?: string | null;
  integrationId?: string | null;
}

export interface IssueTokenInput extends TokenKindFields {
  name: string;
  kind?: TokenKind | null;
  roles?: readonly string[] | null;
  expiresAt?: Date | null;
  tenantId?: string | null;
}

export interface ImportTokenInput extends IssueTokenInput {
  /** The plaintext, given once; only its argon2id hash is kept. */
  secret: string;
}

export interface UpdateTokenInput {
  id: string;
  name?: string | null;
  roles?: readonly string[] | null;
  /** Null clears it. */
  botName?: string | null;
  avatarUrl?: string | null;
  expiresAt?: Date | null;
}

export interface RotateTokenInput {
  id: string;
  gracePeriodSeconds: number;
}

export interface IssuedToken {
  record: TokenRecord;
  /** Shown once, never stored. */
  secret: string;
}

export interface ListTokensInput {
  first: number;
  afterSeq: number | null;
  filter: Omit<TokenListFilter, 'tenantId'> & { tenantId?: string | null };
}

export interface TokenServiceDependencies {
  sealer: SecretSealer;
  usage: TokenUsageRecorder;
  limiter: ChosenSecretLimiter;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

type NewToken = Omit<IssueToken, 'type' | 'roles'> & { roles: readonly string[] };

/**
 * Issues, updates, rotates, revokes, reads and verifies tokens. Every operation checks the
 * caller's roles and tenant here, so transports stay thin.
 */
export class TokenService {
  private readonly verifiedChosenSecrets = new VerifiedSecretCache();
  private readonly claims: TokenClaims;
  private readonly secretClaims: ImportedSecretClaims;
  private readonly sealer: SecretSealer;
  private readonly usage: TokenUsageRecorder;
  private readonly limiter: ChosenSecretLimiter;
  private readonly logger: TokenServiceDependencies['logger'];
  private otherCredentials: OtherCredentialVerifier | null = null;
  private privilegedVerifications: Pick<ConnectionAccessRecorder, 'recordIfRoom'> | null = null;

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: TokenQueries,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    dependencies: TokenServiceDependencies,
  ) {
    this.claims = new TokenClaims(writer, clock);
    this.secretClaims = new ImportedSecretClaims(writer, hasher, this.claims, clock);
    ({ sealer: this.sealer, usage: this.usage, limiter: this.limiter, logger: this.logger } = dependencies);
  }

  /** Refuses, before anything is recorded, an issue the caller could never make. */
  async authorizeIssue(ctx: RequestContext, input: Pick<IssueTokenInput, 'kind' | 'roles'>): Promise<Principal> {
    const caller = await ctx.principal();
    const reach = tokenWriteReach(caller);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensWrite} role`);
    if (reach !== 'all') requireWebhookTokenIssue(input.kind ?? 'API_TOKEN', input.roles ?? []);
    return caller;
  }

  /**
   * Refuses, before anything is recorded, a rotation or revocation the caller could never
   * make: the kind is read from the read model here, and checked again on the token's stream.
   */
  async authorizeChangeOf(ctx: RequestContext, tokenId: string): Promise<Principal> {
    const { caller, reach } = await this.tokenWriter(ctx, tokenId);
    const record = reach === 'all' ? null : this.queries.byId(tokenId);
    if (record && visibleTo(caller, record.tenantId) && record.kind !== 'WEBHOOK_TOKEN') throw beyondReach(reach, Role.tokensWrite);
    return caller;
  }

  async issueToken(ctx: RequestContext, input: IssueTokenInput): Promise<IssuedToken> {
    const caller = await this.authorizeIssue(ctx, input);
    const tenantId = targetTenant(caller, input.tenantId);
    const kind = input.kind ?? 'API_TOKEN';
    const roles = this.grantableRoles(caller, input.roles ?? []);
    const prefix = TOKEN_PREFIXES[kind];
    if (!prefix) throw badInput(`Unknown token kind ${String(kind)}`, 'kind');
    const secret = generateToken(prefix);
    const tokenId = newTokenId();
    const fields = {
      tokenId,
      tenantId,
      kind,
      name: input.name,
      roles,
      expiresAt: input.expiresAt ?? null,
      display: displayOf(prefix, secret),
      secretHash: this.hasher.lookupHash(secret),
      lookupTag: null,
      origin: 'generated' as const,
      ...kindFieldsOf(input),
    };
    if (kind !== 'INTEGRATION_KEY') return { record: await this.create(ctx, actorOf(caller), fields), secret };

    // The secret must be recoverable to check JWTs signed with it: it is kept only sealed, under a data key of its own.
    await this.sealer.createDataKey(tokenId);
    let sealedSecret: SealedSecret;
    try {
      sealedSecret = await this.sealer.seal(tokenId, tokenId, secret);
    } catch (error) {
      await this.destroyDataKeyQuietly(tokenId);
      throw error;
    }
    const record = await this.create(ctx, actorOf(caller), { ...fields, sealedSecret }, () => this.destroyDataKeyQuietly(tokenId));
    return { record, secret };
  }

  /**
   * Takes over a secret that already exists elsewhere. The plaintext is hashed with argon2id
   * (it may have been chosen by a person) and never stored or echoed.
   */
  async importToken(ctx: RequestContext, input: ImportTokenInput): Promise<TokenRecord> {
    const caller = await requireRole(ctx, Role.tokensWrite);
    const tenantId = targetTenant(caller, input.tenantId);
    const kind = input.kind ?? 'API_TOKEN';
    if (kind === 'INTEGRATION_KEY') {
      throw badInput('Integration keys cannot be imported: their secret signs JWTs, so keyledger generates it and keeps it sealed', 'kind');
    }
    const roles = this.grantableRoles(caller, input.roles ?? []);
    if (typeof input.secret !== 'string' || input.secret.length < MIN_CHOSEN_SECRET_LENGTH || input.secret.length > MAX_SECRET_LENGTH || !CHOSEN_SECRET_PATTERN.test(input.secret)) {
      throw badInput(
        `secret must be ${MIN_CHOSEN_SECRET_LENGTH}-${MAX_SECRET_LENGTH} printable ASCII characters without spaces`,
        'secret',
      );
    }
    if (KEYLEDGER_PREFIX.test(input.secret)) {
      throw badInput("secret must not start with one of keyledger's own prefixes (kl…_): such strings are checked by checksum", 'secret');
    }
    return this.createWithChosenSecret(
      ctx,
      actorOf(caller),
      { tokenId: newTokenId(), tenantId, kind, name: input.name, roles, expiresAt: input.expiresAt ?? null, ...kindFieldsOf(input) },
      input.secret,
      'imported',
    );
  }

  async updateToken(ctx: RequestContext, input: UpdateTokenInput): Promise<TokenRecord> {
    const caller = await requireRole(ctx, Role.tokensWrite);
    await this.changeNamedToken(ctx, caller, input.id, this.clock.now(), {
      type: 'UpdateToken',
      tokenId: input.id,
      changes: {
        name: input.name ?? undefined,
        roles: input.roles ?? undefined,
        botName: input.botName,
        avatarUrl: input.avatarUrl,
        expiresAt: input.expiresAt,
      },
      grantorRoles: caller.roles,
    });
    return this.readBack(input.id);
  }

  /** A new secret for the token; earlier secrets verify for `gracePeriodSeconds` more, then are revoked. */
  async rotateToken(ctx: RequestContext, input: RotateTokenInput): Promise<IssuedToken> {
    const { caller, reach } = await this.tokenWriter(ctx, input.id);
    const now = this.clock.now();
    const { state: current } = await this.writer.load<TokenState, TokenEvent>(streamOfNamedToken(input.id), initialTokenState, evolve);
    this.requireManageable(caller, current, input.id, reach);
    if (current.status !== 'active' && current.status !== 'revoked') throw notFound(`Token ${input.id} not found`);
    const prefix = TOKEN_PREFIXES[current.kind];
    const secret = generateToken(prefix);
    const command = (sealedSecret: SealedSecret | null) => ({
      type: 'RotateToken' as const,
      tokenId: input.id,
      gracePeriodSeconds: input.gracePeriodSeconds,
      display: displayOf(prefix, secret),
      secretHash: this.hasher.lookupHash(secret),
      sealedSecret,
    });
    // Decided once before sealing, so a revoked key (whose data key is gone) or a bad grace period fails cleanly.
    const placeholder = current.kind === 'INTEGRATION_KEY' ? { dataKeyId: input.id, ciphertext: '' } : null;
    decide(command(placeholder), current, now);
    const sealedSecret = current.kind === 'INTEGRATION_KEY' ? await this.sealRotatedSecret(input.id, secret) : null;
    await this.changeNamedToken(ctx, caller, input.id, now, command(sealedSecret), reach);
    return { record: this.readBack(input.id), secret };
  }

  async revokeToken(ctx: RequestContext, input: { id: string; reason?: string | null }): Promise<TokenRecord> {
    const { caller, reach } = await this.tokenWriter(ctx, input.id);
    const { state } = await this.changeNamedToken(
      ctx,
      caller,
      input.id,
      this.clock.now(),
      { type: 'RevokeToken', tokenId: input.id, reason: input.reason ?? null },
      reach,
    );
    if (state.status !== 'active' && state.status !== 'revoked') throw notFound(`Token ${input.id} not found`);
    // Also on a repeated revoke, so that a retry finishes a shredding that failed the first time.
    if (state.kind === 'INTEGRATION_KEY') await this.shred(input.id);
    return this.readBack(input.id);
  }

  async getToken(ctx: RequestContext, id: string): Promise<TokenRecord | null> {
    const caller = await ctx.principal();
    const reach = tokenReadReach(caller, id);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensRead} role`);
    const record = this.queries.byId(id);
    if (!record || !visibleTo(caller, record.tenantId)) return null;
    if (reach !== 'all' && record.kind !== 'WEBHOOK_TOKEN') throw beyondReach(reach, Role.tokensRead);
    return this.withUsage(record);
  }

  /**
   * Whether `secret` is the one a token was imported with, checked against the argon2 hash
   * its `TokenIssued` recorded (a rotation since does not change the answer); null when
   * there is no such hash.
   */
  async importedSecretMatches(tokenId: string, secret: string): Promise<boolean | null> {
    const issued = (await this.writer.readStream(tokenStreamId(tokenId))).find((event) => event.type === 'TokenIssued');
    const stored = (issued?.data as { secretHash?: unknown } | undefined)?.secretHash;
    if (typeof stored !== 'string' || !isArgon2Hash(stored)) return null;
    return this.hasher.argon2Verify(stored, secret);
  }

  async listTokens(ctx: RequestContext, input: ListTokensInput): Promise<TokenPage> {
    const caller = await ctx.principal();
    const reach = tokenReadReach(caller);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensRead} role`);
    // Asked, not narrowed silently: a list that quietly left tokens out would read as complete.
    if (reach !== 'all' && input.filter.kind !== 'WEBHOOK_TOKEN') {
      throw forbidden(`${Role.webhookTokensWrite} lists webhook tokens only: pass filter: {kind: WEBHOOK_TOKEN}, or hold ${Role.tokensRead}`);
    }
    const tenantId = targetTenant(caller, input.filter.tenantId);
    const page = this.queries.list({ ...input.filter, tenantId }, input.first, input.afterSeq, this.clock.now());
    return { ...page, records: page.records.map((record) => this.withUsage(record)) };
  }

  /**
   * Checks a credential presented to one of the caller's own services: a secret, an
   * integration key's `keyId:secret` (bare or as HTTP Basic) or an HS256 JWT signed with it.
   * An invalid credential is a result, not an error; a credential of another tenant reads as
   * NOT_FOUND.
   */
  async verifyToken(ctx: RequestContext, presented: string, requiredRoles: readonly string[] = []): Promise<Verification> {
    const caller = await requireRole(ctx, Role.tokensRead);
    if (this.otherCredentials?.accepts(presented)) return this.otherCredentials.verifyFor(caller, presented, requiredRoles);
    const verification = await this.verifyPresented(presented, ctx.ip, caller);
    if (verification.record && !visibleTo(caller, verification.record.tenantId)) return { code: 'NOT_FOUND', record: null };
    const outcome = this.verificationOutcome(verification, requiredRoles);
    if (outcome.record) this.recordPrivilegedVerification(ctx, caller, outcome, requiredRoles);
    return outcome;
  }

  private verificationOutcome(verification: Verification, requiredRoles: readonly string[]): Verification {
    if (verification.code !== 'VALID' || !verification.record) return verification;
    if (requiredRoles.length > 0) {
      const held = effectiveRoles(verification.record.roles);
      for (const role of verification.record.roles) held.add(role);
      if (requiredRoles.some((role) => !held.has(role))) return { code: 'INSUFFICIENT_ROLES', record: verification.record };
    }
    this.usage.record(verification.record.id, this.clock.now());
    return { code: 'VALID', record: this.withUsage(verification.record) };
  }

  /** From then on, `verifyToken` checks of credentials holding keyledger roles become access records. */
  recordPrivilegedVerificationsWith(recorder: Pick<ConnectionAccessRecorder, 'recordIfRoom'>): void {
    this.privilegedVerifications = recorder;
  }

  private recordPrivilegedVerification(ctx: RequestContext, caller: Principal, outcome: Verification, requiredRoles: readonly string[]): void {
    const record = outcome.record!;
    if (!this.privilegedVerifications || !record.roles.some(isKeyledgerRole)) return;
    if (outcome.code !== 'VALID' && outcome.code !== 'REVOKED' && outcome.code !== 'EXPIRED' && outcome.code !== 'INSUFFICIENT_ROLES') return;
    const now = this.clock.now();
    this.privilegedVerifications.recordIfRoom<PrivilegedTokenVerified>(
      'PrivilegedTokenVerified',
      { tenantId: record.tenantId, tokenId: record.id, code: outcome.code, requiredRoles: [...requiredRoles], verifiedAt: now.toISOString() },
      eventMetadata(ctx, actorOf(caller), now),
    );
  }

  /** Lets `verifyToken` hand credentials of another shape to the service that issues them. */
  verifyOtherCredentialsWith(verifier: OtherCredentialVerifier): void {
    this.otherCredentials = verifier;
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
   * Creates the root token from a secret an operator chose (KEYLEDGER_BOOTSTRAP_TOKEN), once.
   * Call it once the read models have caught up with the log.
   * The token's stream id is fixed, so the event store's no-stream check makes this
   * idempotent across restarts and across processes starting at once.
   */
  async ensureBootstrapToken(secret: string, ctx: Pick<RequestContext, 'requestId'>): Promise<'created' | 'exists' | 'exists-different'> {
    const existing = this.queries.byId(BOOTSTRAP_TOKEN_ID);
    if (existing) {
      return (await this.hasher.argon2Verify(existing.secretHash, secret)) ? 'exists' : 'exists-different';
    }
    try {
      await this.createWithChosenSecret(
        ctx,
        SYSTEM_ACTOR,
        { tokenId: BOOTSTRAP_TOKEN_ID, tenantId: SYSTEM_TENANT, kind: 'API_TOKEN', name: 'bootstrap root', roles: [Role.root] },
        secret,
        'bootstrap',
      );
      return 'created';
    } catch (error) {
      if (error instanceof KeyledgerError && error.code === 'CONFLICT') return 'exists';
      throw error;
    }
  }

  /** Issues a new root token with a generated secret (the `bootstrap` CLI). */
  async issueRootToken(ctx: Pick<RequestContext, 'requestId'>, name: string): Promise<IssuedToken> {
    const secret = generateToken(TOKEN_PREFIXES.API_TOKEN);
    const record = await this.create(ctx, SYSTEM_ACTOR, {
      tokenId: newTokenId(),
      tenantId: SYSTEM_TENANT,
      kind: 'API_TOKEN',
      name,
      roles: [Role.root],
      expiresAt: null,
      display: displayOf(TOKEN_PREFIXES.API_TOKEN, secret),
      secretHash: this.hasher.lookupHash(secret),
      lookupTag: null,
      origin: 'generated',
    });
    return { record, secret };
  }

  /**
   * Destroys data keys whose secrets can no longer be needed: those of revoked keys (a
   * revocation whose shredding failed) and those of issues that never completed. Run once
   * the read models have caught up.
   */
  async shredOrphanedDataKeys(): Promise<number> {
    const now = this.clock.now().getTime();
    let destroyed = 0;
    for (const { id, createdAt } of await this.sealer.listDataKeys()) {
      const record = this.queries.byId(id);
      const orphaned = record ? record.revokedAt !== null : now - createdAt.getTime() > ORPHANED_DATA_KEY_AGE_MS;
      if (!orphaned) continue;
      await this.sealer.destroyDataKey(id);
      destroyed++;
    }
    return destroyed;
  }

  /**
   * Every accepted form: what `verifyToken` checks. A form that names its key (`keyId:secret`,
   * a JWT's `kid`) is looked at only when the key is the caller's to see: anything checked
   * before the tenant rule — a `crit` header, the signature's encoding — would tell a live
   * key of another tenant from a missing one.
   */
  private async verifyPresented(presented: string, ip: string | undefined, caller: Principal | null): Promise<Verification> {
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

  /** `caller` null: the key authenticates itself, and no other tenant's rule applies. */
  private namedKeyVisible(caller: Principal | null, keyId: string): boolean {
    const record = this.queries.byId(keyId);
    return record !== null && record.kind === 'INTEGRATION_KEY' && (caller === null || visibleTo(caller, record.tenantId));
  }

  /**
   * Verification of a bare secret, without tenant rules: shared by `verifyToken`, authentication
   * and other services that accept keyledger tokens. `ip` feeds the argon2 rate limit.
   */
  async verifySecret(presented: string, ip?: string): Promise<Verification> {
    if (presented.length === 0 || presented.length > MAX_SECRET_LENGTH) return { code: 'MALFORMED', record: null };
    if (GENERATED_SHAPE.test(presented)) {
      // Shaped like a generated token: the checksum decides without touching storage.
      if (parseToken(presented)) return this.secretOutcome(this.queries.bySecretHash(this.hasher.lookupHash(presented)));
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

  /** A rotated-out secret past its grace period is REVOKED, whatever the token's own status. */
  private secretOutcome(match: SecretMatch | null): Verification {
    if (!match) return { code: 'NOT_FOUND', record: null };
    const now = this.clock.now();
    if (match.secret.validUntil && match.secret.validUntil.getTime() <= now.getTime()) return { code: 'REVOKED', record: match.record };
    const status: TokenStatus = tokenStatus(match.record, now);
    return { code: status === 'ACTIVE' ? 'VALID' : status, record: match.record };
  }

  private withUsage(record: TokenRecord): TokenRecord {
    const pending = this.usage.pendingUse(record.id);
    if (!pending || (record.lastUsedAt && record.lastUsedAt.getTime() >= pending.getTime())) return record;
    return { ...record, lastUsedAt: pending };
  }

  /**
   * A chosen secret must identify exactly one credential: an import is refused when any
   * credential, of any tenant and in any state, already holds the secret, and otherwise
   * claims it (see `ImportedSecretClaims`) so that a concurrent import of the same secret
   * fails. The operator's bootstrap secret is exempt: its token id is fixed, so it cannot be
   * abandoned and claimed again; if a tenant holds it too, verification refuses it for both.
   */
  private async createWithChosenSecret(
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    actor: Actor,
    token: Omit<NewToken, 'display' | 'secretHash' | 'lookupTag' | 'origin' | 'expiresAt'> & { expiresAt?: Date | null },
    secret: string,
    origin: SecretOrigin,
  ): Promise<TokenRecord> {
    const lookupTag = this.hasher.lookupTag(secret);
    if (origin !== 'bootstrap') await this.refuseHeldSecret(secret, lookupTag);
    const secretHash = await this.hasher.argon2Hash(secret);
    return this.create(
      ctx,
      actor,
      {
        ...token,
        expiresAt: token.expiresAt ?? null,
        display: displayOf(TOKEN_PREFIXES[token.kind], secret),
        secretHash,
        lookupTag,
        origin,
      },
      async () => {},
      origin === 'bootstrap' ? null : secret,
    );
  }

  /** Credentials imported before imports were claimed are in the read model only; only those of the secret's tag are checked. */
  private async refuseHeldSecret(secret: string, lookupTag: string): Promise<void> {
    for (const candidate of this.queries.byLookupTag(lookupTag)) {
      if (isArgon2Hash(candidate.secret.secretHash) && (await this.hasher.argon2Verify(candidate.secret.secretHash, secret))) throw secretInUse();
    }
  }

  /**
   * Validates, claims what the token needs (its code, its integration slot), then appends
   * `TokenIssued`. `onNotIssued` undoes side effects made before (a data key) when the token
   * was certainly not issued.
   */
  private async create(
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    actor: Actor,
    token: NewToken,
    onNotIssued: () => Promise<void> = async () => {},
    chosenSecret: string | null = null,
  ): Promise<TokenRecord> {
    const now = this.clock.now();
    const command: IssueToken = { type: 'IssueToken', ...token };
    const metadata = eventMetadata(ctx, actor, now);
    let claimed = false;
    try {
      // Decided once on an empty stream first, so bad input is refused before anything is claimed.
      decide(command, initialTokenState, now);
      if (chosenSecret !== null && token.lookupTag !== null) {
        const { tenantId, tokenId, lookupTag, secretHash } = token;
        await this.secretClaims.claim({ tenantId, tokenId, lookupTag, secretHash }, chosenSecret, metadata);
        claimed = true;
      }
      const claim = claimOf(token);
      if (claim) {
        await this.claims.claim(claim, metadata);
        claimed = true;
      }
    } catch (error) {
      // A secret claimed before a code was refused is freed by abandoning the token id that holds it.
      if (claimed) await this.abandonQuietly(token.tokenId, token.tenantId, metadata);
      await onNotIssued();
      throw error;
    }
    try {
      await this.writer.execute<TokenState, TokenEvent>({
        streamId: tokenStreamId(token.tokenId),
        initial: initialTokenState,
        evolve,
        metadata,
        retryOnConflict: false,
        decide: (state) => decide(command, state, now),
      });
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) {
        await onNotIssued();
        // With a claim, only an abandonment can have taken the stream: this issue stalled past the claim's grace.
        throw claimed
          ? conflict('The issue took too long and its claim was given up; try again')
          : conflict(`Token ${token.tokenId} already exists`);
      }
      if (claimed) await this.abandonQuietly(token.tokenId, token.tenantId, metadata);
      // A refusal or an unreachable store certainly wrote nothing; after anything else the outcome is unknown and nothing is undone.
      if (error instanceof KeyledgerError) await onNotIssued();
      throw error;
    }
    return this.readBack(token.tokenId);
  }

  /** Frees a claim at once when its issue failed; if even that fails, the claim's grace period frees it. */
  private async abandonQuietly(tokenId: string, tenantId: string, metadata: EventMetadata): Promise<void> {
    try {
      await this.claims.abandon(tokenId, tenantId, metadata);
    } catch (error) {
      this.logger.warn({ err: error, tokenId }, 'could not abandon the claim of a failed issue; it frees itself after its grace period');
    }
  }

  /** The key's data key lives in this machine's keys.db; a key created elsewhere cannot be re-sealed here. */
  private async sealRotatedSecret(tokenId: string, secret: string): Promise<SealedSecret> {
    try {
      return await this.sealer.seal(tokenId, tokenId, secret);
    } catch (error) {
      this.logger.error({ err: error, tokenId }, 'could not seal the new secret of an integration key');
      throw new KeyledgerError(
        'UNAVAILABLE',
        'The key material of this integration key is not available on this gateway; nothing was changed. Rotate it on the gateway that created it.',
      );
    }
  }

  private async shred(tokenId: string): Promise<void> {
    try {
      await this.sealer.destroyDataKey(tokenId);
    } catch (error) {
      this.logger.error({ err: error, tokenId }, 'could not destroy the data key of a revoked integration key');
      throw new KeyledgerError('UNAVAILABLE', 'The key is revoked, but its secret could not be destroyed yet; revoke it again to finish');
    }
  }

  private async destroyDataKeyQuietly(tokenId: string): Promise<void> {
    try {
      await this.sealer.destroyDataKey(tokenId);
    } catch (error) {
      this.logger.warn({ err: error, tokenId }, 'could not destroy the data key of a failed issue; start-up will');
    }
  }

  private readBack(tokenId: string): TokenRecord {
    const record = this.queries.byId(tokenId);
    if (!record) {
      throw new KeyledgerError('UNAVAILABLE', 'The change was recorded but the read models are behind; query it again shortly');
    }
    return this.withUsage(record);
  }

  private grantableRoles(caller: Principal, requested: readonly string[]): string[] {
    const roles = requireRoles(requested);
    const unknown = unknownKeyledgerRoles(roles);
    if (unknown.length > 0) throw badInput(`Unknown keyledger role(s): ${unknown.join(', ')}`, 'roles');
    const beyond = rolesBeyondCaller(caller.roles, roles);
    if (beyond.length > 0) throw forbidden(`You cannot grant role(s) you do not hold: ${beyond.join(', ')}`);
    return roles;
  }

  /** The caller of a rotation or revocation, and how far its power reaches. */
  private async tokenWriter(ctx: RequestContext, tokenId: string): Promise<{ caller: Principal; reach: TokenReach }> {
    const caller = await ctx.principal();
    const reach = tokenWriteReach(caller, tokenId);
    if (reach === null) throw forbidden(`This operation requires the ${Role.tokensWrite} role`);
    return { caller, reach };
  }

  /** Applies a command to a token the caller names, each attempt checking that the caller may manage it. */
  private changeNamedToken(ctx: RequestContext, caller: Principal, tokenId: string, now: Date, command: TokenCommand, reach: TokenReach = 'all') {
    return this.writer.execute<TokenState, TokenEvent>({
      streamId: streamOfNamedToken(tokenId),
      initial: initialTokenState,
      evolve,
      metadata: eventMetadata(ctx, actorOf(caller), now),
      decide: (state) => {
        this.requireManageable(caller, state, tokenId, reach);
        return decide(command, state, now);
      },
    });
  }

  /**
   * Foreign tokens read as missing; a token holding keyledger roles the caller lacks is off
   * limits; a caller reaching only webhook tokens (or only itself) may not touch another kind.
   */
  private requireManageable(caller: Principal, state: TokenState, tokenId: string, reach: TokenReach = 'all'): void {
    if (state.status === 'absent' || state.status === 'abandoned' || !visibleTo(caller, state.tenantId)) {
      throw notFound(`Token ${tokenId} not found`);
    }
    if (reach !== 'all' && state.kind !== 'WEBHOOK_TOKEN') throw beyondReach(reach, Role.tokensWrite);
    const beyond = rolesBeyondCaller(caller.roles, state.roles);
    if (beyond.length > 0) throw forbidden(`The token holds role(s) you do not hold: ${beyond.join(', ')}`);
  }
}

/** The stream of a token a client names by id; an id `newTokenId` could not have made names no token. */
function streamOfNamedToken(tokenId: string): string {
  if (!TOKEN_ID_PATTERN.test(tokenId)) throw notFound('Token not found');
  return tokenStreamId(tokenId);
}

/** A caller reaching less than every token, faced with a token of another kind. */
function beyondReach(reach: TokenReach, role: string): KeyledgerError {
  return reach === 'self'
    ? forbidden(`This operation requires the ${role} role: a token acts on itself only when it is a WEBHOOK_TOKEN`)
    : forbidden(`${Role.webhookTokensWrite} reaches WEBHOOK_TOKENs only; this token needs ${role}`);
}

/** What keyledger:webhook-tokens:write may issue: webhook tokens, holding no keyledger role. */
function requireWebhookTokenIssue(kind: TokenKind, roles: readonly string[]): void {
  if (kind !== 'WEBHOOK_TOKEN') throw forbidden(`${Role.webhookTokensWrite} issues WEBHOOK_TOKENs only; other kinds need ${Role.tokensWrite}`);
  const keyledgerRoles = roles.filter(isKeyledgerRole);
  if (keyledgerRoles.length > 0) {
    throw forbidden(`${Role.webhookTokensWrite} issues tokens without keyledger roles; granting ${keyledgerRoles.join(', ')} needs ${Role.tokensWrite}`);
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

export function newTokenId(): string {
  return `tok_${randomBase62(22)}`;
}

function kindFieldsOf(input: TokenKindFields): TokenKindFields {
  return {
    code: input.code ?? null,
    botName: input.botName ?? null,
    avatarUrl: input.avatarUrl ?? null,
    ownerId: input.ownerId ?? null,
    integrationId: input.integrationId ?? null,
  };
}

function claimOf(token: NewToken): ClaimRequest | null {
  if (token.kind === 'API_TOKEN' && token.code) {
    return { type: 'ReserveTokenCode', tenantId: token.tenantId, code: token.code, tokenId: token.tokenId };
  }
  if (token.kind === 'INTEGRATION_KEY' && token.integrationId) {
    return { type: 'TakeIntegrationKeySlot', tenantId: token.tenantId, integrationId: token.integrationId, tokenId: token.tokenId };
  }
  return null;
}
