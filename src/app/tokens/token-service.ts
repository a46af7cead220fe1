import { Role, effectiveRoles, holdsRole, rolesBeyondCaller, unknownKeyledgerRoles, type KeyledgerRole } from '../../domain/access/roles';
import { badInput, forbidden, KeyledgerError, notFound, unauthenticated } from '../../domain/errors';
import {
  decide,
  evolve,
  initialTokenState,
  tokenStreamId,
  type SecretOrigin,
  type TokenEvent,
  type TokenKind,
  type TokenState,
} from '../../domain/tokens';
import { requireRoles, requireTenantId } from '../../domain/validation';
import { randomBase62 } from '../../crypto/base62';
import { SecretHasher, isArgon2Hash } from '../../crypto/secret-hash';
import { displayOf, generateToken, parseToken } from '../../crypto/token-format';
import { WrongExpectedRevisionError } from '../../eventstore/port';
import { tokenStatus, type TokenListFilter, type TokenPage, type TokenQueries, type TokenRecord, type TokenStatus } from '../../../projections/tokens';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import { actorOf, eventMetadata, SYSTEM_ACTOR, type Principal, type RequestContext } from '../request-context';
import { VerifiedSecretCache } from './verified-secret-cache';

export const TOKEN_PREFIXES: Record<TokenKind, string> = {
  API_TOKEN: 'klt',
  WEBHOOK_TOKEN: 'klw',
  INTEGRATION_KEY: 'kli',
};

/** The tenant that holds the root token(s). */
export const SYSTEM_TENANT = 'system';
export const BOOTSTRAP_TOKEN_ID = 'tok_bootstrap';

/** Longest string verification looks at; anything longer is malformed, not looked up. */
const MAX_PRESENTED_LENGTH = 512;
/** Chosen or imported secrets must be at least this long to be looked up at all. */
const MIN_CHOSEN_SECRET_LENGTH = 16;
const GENERATED_SHAPE = /^[a-z][a-z0-9]{1,9}_[0-9A-Za-z]*$/;

export type VerificationCode = 'VALID' | 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED' | 'INSUFFICIENT_ROLES';

export interface Verification {
  code: VerificationCode;
  record: TokenRecord | null;
}

export interface IssueTokenInput {
  name: string;
  kind?: TokenKind | null;
  roles?: readonly string[] | null;
  expiresAt?: Date | null;
  tenantId?: string | null;
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

/**
 * Issues, revokes, reads and verifies tokens. Every operation checks the caller's roles and
 * tenant here, so transports stay thin.
 */
export class TokenService {
  private readonly verifiedChosenSecrets = new VerifiedSecretCache();

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: TokenQueries,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
  ) {}

  async issueToken(ctx: RequestContext, input: IssueTokenInput): Promise<IssuedToken> {
    const caller = await this.requireRole(ctx, Role.tokensWrite);
    const tenantId = this.targetTenant(caller, input.tenantId);
    const kind = input.kind ?? 'API_TOKEN';
    const roles = this.grantableRoles(caller, input.roles ?? []);
    const prefix = TOKEN_PREFIXES[kind];
    if (!prefix) throw badInput(`Unknown token kind ${String(kind)}`, 'kind');
    const secret = generateToken(prefix);
    const tokenId = newTokenId();
    const record = await this.create(ctx, actorOf(caller), {
      tokenId,
      tenantId,
      kind,
      name: input.name,
      roles,
      expiresAt: input.expiresAt ?? null,
      display: displayOf(prefix, secret),
      secretHash: this.hasher.lookupHash(secret),
      lookupTag: null,
      origin: 'generated',
    });
    return { record, secret };
  }

  async revokeToken(ctx: RequestContext, input: { id: string; reason?: string | null }): Promise<TokenRecord> {
    const caller = await this.requireRole(ctx, Role.tokensWrite);
    const now = this.clock.now();
    const { state } = await this.writer.execute<TokenState, TokenEvent>({
      streamId: tokenStreamId(input.id),
      initial: initialTokenState,
      evolve,
      metadata: eventMetadata(ctx, actorOf(caller), now),
      decide: (current) => {
        this.requireManageable(caller, current, input.id);
        return decide({ type: 'RevokeToken', tokenId: input.id, reason: input.reason ?? null }, current, now);
      },
    });
    if (state.status === 'absent') throw notFound(`Token ${input.id} not found`);
    return this.readBack(input.id);
  }

  async getToken(ctx: RequestContext, id: string): Promise<TokenRecord | null> {
    const caller = await this.requireRole(ctx, Role.tokensRead);
    const record = this.queries.byId(id);
    return record && this.visibleTo(caller, record.tenantId) ? record : null;
  }

  async listTokens(ctx: RequestContext, input: ListTokensInput): Promise<TokenPage> {
    const caller = await this.requireRole(ctx, Role.tokensRead);
    const tenantId = this.targetTenant(caller, input.filter.tenantId);
    return this.queries.list({ ...input.filter, tenantId }, input.first, input.afterSeq, this.clock.now());
  }

  /**
   * Checks a credential presented to one of the caller's own services. An invalid
   * credential is a result, not an error; a credential of another tenant reads as NOT_FOUND.
   */
  async verifyToken(ctx: RequestContext, presented: string, requiredRoles: readonly string[] = []): Promise<Verification> {
    const caller = await this.requireRole(ctx, Role.tokensRead);
    const verification = await this.verifySecret(presented);
    if (verification.record && !this.visibleTo(caller, verification.record.tenantId)) return { code: 'NOT_FOUND', record: null };
    if (verification.code !== 'VALID' || !verification.record) return verification;
    const held = new Set([...verification.record.roles, ...effectiveRoles(verification.record.roles)]);
    if (requiredRoles.some((role) => !held.has(role))) return { code: 'INSUFFICIENT_ROLES', record: verification.record };
    return verification;
  }

  /** The principal a bearer credential stands for; UNAUTHENTICATED when it is not a valid one. */
  async authenticate(presented: string): Promise<Principal> {
    const { code, record } = await this.verifySecret(presented);
    if (code !== 'VALID' || !record) {
      const reason =
        code === 'REVOKED' ? 'The credential has been revoked' : code === 'EXPIRED' ? 'The credential has expired' : 'The credential is not valid';
      throw unauthenticated(reason);
    }
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

  /** Verification without tenant rules: shared by `verifyToken` and authentication. */
  async verifySecret(presented: string): Promise<Verification> {
    if (presented.length === 0 || presented.length > MAX_PRESENTED_LENGTH) return { code: 'MALFORMED', record: null };
    if (GENERATED_SHAPE.test(presented)) {
      // Shaped like a generated token: the checksum decides without touching storage.
      if (!parseToken(presented)) return { code: 'MALFORMED', record: null };
      return this.outcome(this.queries.bySecretHash(this.hasher.lookupHash(presented)));
    }
    return this.verifyChosenSecret(presented);
  }

  private async verifyChosenSecret(presented: string): Promise<Verification> {
    if (presented.length < MIN_CHOSEN_SECRET_LENGTH || /[^\x21-\x7e]/.test(presented)) return { code: 'MALFORMED', record: null };
    const fingerprint = this.hasher.lookupHash(presented);
    const cachedId = this.verifiedChosenSecrets.get(fingerprint);
    if (cachedId) {
      const record = this.queries.byId(cachedId);
      if (record) return this.outcome(record);
    }
    for (const candidate of this.queries.byLookupTag(this.hasher.lookupTag(presented))) {
      if (isArgon2Hash(candidate.secretHash) && (await this.hasher.argon2Verify(candidate.secretHash, presented))) {
        this.verifiedChosenSecrets.set(fingerprint, candidate.id);
        return this.outcome(candidate);
      }
    }
    return { code: 'NOT_FOUND', record: null };
  }

  private outcome(record: TokenRecord | null): Verification {
    if (!record) return { code: 'NOT_FOUND', record: null };
    const status: TokenStatus = tokenStatus(record, this.clock.now());
    return { code: status === 'ACTIVE' ? 'VALID' : status, record };
  }

  private async createWithChosenSecret(
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    actor: ReturnType<typeof actorOf>,
    token: { tokenId: string; tenantId: string; kind: TokenKind; name: string; roles: string[]; expiresAt?: Date | null },
    secret: string,
    origin: SecretOrigin,
  ): Promise<TokenRecord> {
    return this.create(ctx, actor, {
      ...token,
      expiresAt: token.expiresAt ?? null,
      display: displayOf(TOKEN_PREFIXES[token.kind], secret),
      secretHash: await this.hasher.argon2Hash(secret),
      lookupTag: this.hasher.lookupTag(secret),
      origin,
    });
  }

  private async create(
    ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>,
    actor: ReturnType<typeof actorOf>,
    token: {
      tokenId: string;
      tenantId: string;
      kind: TokenKind;
      name: string;
      roles: readonly string[];
      expiresAt: Date | null;
      display: string;
      secretHash: string;
      lookupTag: string | null;
      origin: SecretOrigin;
    },
  ): Promise<TokenRecord> {
    const now = this.clock.now();
    try {
      await this.writer.execute<TokenState, TokenEvent>({
        streamId: tokenStreamId(token.tokenId),
        initial: initialTokenState,
        evolve,
        metadata: eventMetadata(ctx, actor, now),
        retryOnConflict: false,
        decide: (state) => decide({ type: 'IssueToken', ...token }, state, now),
      });
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) throw new KeyledgerError('CONFLICT', `Token ${token.tokenId} already exists`);
      throw error;
    }
    return this.readBack(token.tokenId);
  }

  private readBack(tokenId: string): TokenRecord {
    const record = this.queries.byId(tokenId);
    if (!record) {
      throw new KeyledgerError('UNAVAILABLE', 'The change was recorded but the read models are behind; query it again shortly');
    }
    return record;
  }

  private async requireRole(ctx: RequestContext, role: KeyledgerRole): Promise<Principal> {
    const caller = await ctx.principal();
    if (!holdsRole(caller.roles, role)) throw forbidden(`This operation requires the ${role} role`);
    return caller;
  }

  /** Non-root callers act in their own tenant only; root names the tenant or acts in its own. */
  private targetTenant(caller: Principal, requested: string | null | undefined): string {
    if (requested == null || requested === caller.tenantId) return caller.tenantId;
    if (!holdsRole(caller.roles, Role.root)) throw forbidden('Only keyledger:root may act in another tenant');
    return requireTenantId(requested);
  }

  private visibleTo(caller: Principal, tenantId: string): boolean {
    return tenantId === caller.tenantId || holdsRole(caller.roles, Role.root);
  }

  private grantableRoles(caller: Principal, requested: readonly string[]): string[] {
    const roles = requireRoles(requested);
    const unknown = unknownKeyledgerRoles(roles);
    if (unknown.length > 0) throw badInput(`Unknown keyledger role(s): ${unknown.join(', ')}`, 'roles');
    const beyond = rolesBeyondCaller(caller.roles, roles);
    if (beyond.length > 0) throw forbidden(`You cannot grant role(s) you do not hold: ${beyond.join(', ')}`);
    return roles;
  }

  /** Foreign tokens read as missing; a token holding keyledger roles the caller lacks is off limits. */
  private requireManageable(caller: Principal, state: TokenState, tokenId: string): void {
    if (state.status === 'absent' || !this.visibleTo(caller, state.tenantId)) throw notFound(`Token ${tokenId} not found`);
    const beyond = rolesBeyondCaller(caller.roles, state.roles);
    if (beyond.length > 0) throw forbidden(`The token holds role(s) you do not hold: ${beyond.join(', ')}`);
  }
}

export function newTokenId(): string {
  return `tok_${randomBase62(22)}`;
}
