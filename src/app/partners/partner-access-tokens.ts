import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { z } from 'zod';
import {
  accessTokenStreamId,
  decideAccessToken,
  evolveAccessToken,
  initialAccessTokenState,
  type AccessTokenEvent,
  type AccessTokenIssued,
  type AccessTokenState,
} from '../../domain/partners';
import { Role } from '../../domain/access/roles';
import { SigningAlgorithms, type SigningKey } from '../../domain/signing-keys';
import type { Actor } from '../../eventstore/port';
import { hasLowS } from '../../crypto/ecdsa-low-s';
import { mediaTypeOf, readJwsHeader, type JoseHeader } from '../../crypto/jose-header';
import type { PartnerQueries } from '../../../projections/partners';
import type { Clock } from '../clock';
import type { EventWriter } from '../event-writer';
import type { PublicUrl } from '../public-url';
import { eventMetadata, type Principal, type RequestContext } from '../request-context';
import type { SigningKeyService } from '../signing-keys/signing-key-service';
import { requireRole, visibleTo } from '../tenant-access';

/** RFC 9068: the media type that tells an access token apart from an ID token or any other JWT. */
export const ACCESS_TOKEN_TYP = 'at+jwt';
export const ACCESS_TOKEN_AUDIENCE = 'keyledger';
/** Longest JWT looked at; the gateway's own are under 1 KiB. */
const MAX_JWT_LENGTH = 4096;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface AccessTokenClaims {
  jti: string;
  credentialId: string;
  clientId: string;
  tenantId: string;
  subTenantId: string;
  issuer: string;
  audience: string;
  issuedAt: Date;
  expiresAt: Date;
}

export type AccessTokenCode = 'VALID' | 'NOT_FOUND' | 'MALFORMED' | 'REVOKED' | 'EXPIRED';

export interface AccessTokenCheck {
  code: AccessTokenCode;
  /** Known once the signature checked out: for VALID, REVOKED and EXPIRED. */
  claims: AccessTokenClaims | null;
}

/** Issuers remembered for tokens of other processes; past this many, the memory starts over. */
const RECORDED_ISSUERS_CACHED = 10_000;

/**
 * Partner access tokens: JWTs the gateway signs (RFC 9068 profile) and verifies under
 * RFC 8725 rules — an explicit algorithm allow-list, an explicit `typ`, a fixed `aud`, and an
 * `iss` of this deployment (see `issuedHere`). A token dies with its credential: verification also reads the credential's status
 * and the token's own revocation.
 */
export class PartnerAccessTokenService {
  /** jti → the issuer its `AccessTokenIssued` recorded, for tokens another process issued; immutable once recorded. */
  private readonly recordedIssuers = new Map<string, string>();

  constructor(
    private readonly writer: EventWriter,
    private readonly queries: PartnerQueries,
    private readonly signingKeys: SigningKeyService,
    private readonly publicUrl: PublicUrl,
    private readonly clock: Clock,
  ) {}

  get issuer(): string {
    return this.publicUrl.value;
  }

  /** Signs the token an `AccessTokenIssued` event describes, with the key the event names. */
  async sign(issued: AccessTokenIssued['data'], clientId: string, key: SigningKey): Promise<string> {
    if (key.kid !== issued.kid) throw new Error(`The token names signing key ${issued.kid}, not ${key.kid}`);
    const payload: JWTPayload = {
      iss: issued.issuer ?? this.issuer,
      aud: ACCESS_TOKEN_AUDIENCE,
      sub: issued.credentialId,
      client_id: clientId,
      tenant_id: issued.tenantId,
      sub_tenant_id: issued.subTenantId,
      // The claim names the source system's consumers read (`tenantId`, `subTenantId`), beside the snake_case ones.
      tenantId: issued.tenantId,
      subTenantId: issued.subTenantId,
      jti: issued.jti,
      iat: Math.floor(new Date(issued.issuedAt).getTime() / 1000),
      exp: Math.floor(new Date(issued.expiresAt).getTime() / 1000),
    };
    const { jwt } = await this.signingKeys.signJwt(payload, { typ: ACCESS_TOKEN_TYP, key });
    return jwt;
  }

  /** True when a presented credential is shaped like one of these tokens (a well-formed header with `typ: at+jwt`). */
  accepts(presented: string): boolean {
    return this.headerOf(presented) !== null;
  }

  async verify(presented: string): Promise<AccessTokenCheck> {
    const header = this.headerOf(presented);
    if (!header) return { code: 'MALFORMED', claims: null };
    // The key is chosen from the checked header before jose sees the token, so jose only ever gets a published key.
    const found = header.kid === undefined ? null : this.signingKeys.verificationKey(header.kid);
    if (!found || found.alg !== header.alg) return { code: 'NOT_FOUND', claims: null };
    // The high-s twin of a token verifies too; only the encoding keyledger signs is the token.
    if (header.alg === 'ES256' && !hasLowS(presented)) return { code: 'MALFORMED', claims: null };
    let payload: JWTPayload;
    try {
      // `iss` is checked below, against what the log recorded, once the signature is known to be ours.
      ({ payload } = await jwtVerify(presented, found.key, {
        algorithms: [...SigningAlgorithms],
        typ: ACCESS_TOKEN_TYP,
        audience: ACCESS_TOKEN_AUDIENCE,
        requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp', 'tenant_id', 'sub_tenant_id'],
        currentDate: this.clock.now(),
      }));
    } catch (error) {
      // jose checks the signature before the claims, so an expired token is one of ours.
      if (error instanceof joseErrors.JWTExpired) {
        const claims = claimsOf(error.payload);
        if (!claims) return { code: 'MALFORMED', claims: null };
        return (await this.issuedHere(claims)) ? { code: 'EXPIRED', claims } : { code: 'NOT_FOUND', claims: null };
      }
      // A bad signature, or another issuer or audience: not a token of ours.
      if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWTClaimValidationFailed) {
        return { code: 'NOT_FOUND', claims: null };
      }
      // Anything else jose refuses, or chokes on, is the token's doing: its bytes are the client's.
      return { code: 'MALFORMED', claims: null };
    }
    const claims = claimsOf(payload);
    if (!claims) return { code: 'MALFORMED', claims: null };
    if (!(await this.issuedHere(claims))) return { code: 'NOT_FOUND', claims: null };
    const credential = this.queries.byId(claims.credentialId);
    if (!credential || credential.tenantId !== claims.tenantId) return { code: 'NOT_FOUND', claims: null };
    if (credential.revokedAt) return { code: 'REVOKED', claims };
    // A token not yet in this replica's read model is still one we signed; only a recorded revocation counts.
    const record = this.queries.accessToken(claims.jti);
    if (record && (record.revokedAt || record.credentialId !== claims.credentialId)) return { code: 'REVOKED', claims };
    return { code: 'VALID', claims };
  }

  /**
   * Checks a token presented for one tenant pair, for a caller with keyledger:tokens:read. A
   * token of another tenant reads as NOT_FOUND; one of the caller's tenant issued for another
   * pair is WRONG_TENANT, since a token never carries over between pairs.
   */
  async verifyForPair(
    ctx: Pick<RequestContext, 'principal'>,
    presented: string,
    pair: { tenantId: string; subTenantId: string },
  ): Promise<{ code: AccessTokenCode | 'WRONG_TENANT'; claims: AccessTokenClaims | null }> {
    const caller = await requireRole(ctx, Role.tokensRead);
    const { code, claims } = await this.verify(presented);
    if (!claims || !visibleTo(caller, claims.tenantId)) return { code: claims ? 'NOT_FOUND' : code, claims: null };
    if (code === 'VALID' && (claims.tenantId !== pair.tenantId || claims.subTenantId !== pair.subTenantId)) return { code: 'WRONG_TENANT', claims };
    return { code, claims };
  }

  /** Stops one token before it expires. Revoking an expired or revoked token changes nothing. */
  async revoke(ctx: Pick<RequestContext, 'requestId' | 'ip' | 'userAgent'>, actor: Actor, jti: string, reason: string | null): Promise<void> {
    const now = this.clock.now();
    await this.writer.execute<AccessTokenState, AccessTokenEvent>({
      streamId: accessTokenStreamId(jti),
      initial: initialAccessTokenState,
      evolve: evolveAccessToken,
      metadata: eventMetadata(ctx, actor, now),
      decide: (state) => decideAccessToken({ type: 'RevokeAccessToken', jti, reason }, state, now),
    });
  }

  /** The caller a valid token stands for: the partner credential, in its tenant, with no keyledger roles. */
  static principalOf(claims: AccessTokenClaims): Principal {
    return { id: claims.credentialId, tenantId: claims.tenantId, roles: [], type: 'partner' };
  }

  /** The checked header of a presented token of this kind, or null when it is not one. */
  private headerOf(presented: string): JoseHeader | null {
    if (presented.length > MAX_JWT_LENGTH || !JWT_SHAPE.test(presented)) return null;
    const jws = readJwsHeader(presented);
    return jws.form === 'jws' && mediaTypeOf(jws.header.typ) === ACCESS_TOKEN_TYP ? jws.header : null;
  }

  /**
   * Whether a token signed with one of this deployment's keys names an issuer of this
   * deployment: this gateway's own, or the one the log recorded when the token was issued.
   * Processes that share a log without a configured public URL each derive theirs from their
   * own listen address, and a restart may listen elsewhere; the recorded issuer lets every
   * one of them accept the tokens of the others, and none accepts an `iss` nobody recorded.
   */
  private async issuedHere(claims: AccessTokenClaims): Promise<boolean> {
    if (claims.issuer === this.issuer) return true;
    const cached = this.recordedIssuers.get(claims.jti);
    if (cached !== undefined) return cached === claims.issuer;
    const { state } = await this.writer.load<AccessTokenState, AccessTokenEvent>(accessTokenStreamId(claims.jti), initialAccessTokenState, evolveAccessToken);
    if (state.status === 'absent' || state.issuer === null) return false;
    if (this.recordedIssuers.size >= RECORDED_ISSUERS_CACHED) this.recordedIssuers.clear();
    this.recordedIssuers.set(claims.jti, state.issuer);
    return state.issuer === claims.issuer;
  }
}

/** The claims keyledger reads from a verified token, with their types checked once, here. */
const AccessTokenPayload = z.object({
  jti: z.string().min(1),
  sub: z.string().min(1),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]).optional(),
  iat: z.number(),
  exp: z.number(),
  tenant_id: z.string().min(1),
  sub_tenant_id: z.string().min(1),
  client_id: z.string().optional(),
});

function claimsOf(payload: JWTPayload): AccessTokenClaims | null {
  const parsed = AccessTokenPayload.safeParse(payload);
  if (!parsed.success) return null;
  const { jti, sub, iss, aud, iat, exp, tenant_id: tenantId, sub_tenant_id: subTenantId, client_id: clientId } = parsed.data;
  return {
    jti,
    credentialId: sub,
    clientId: clientId ?? '',
    tenantId,
    subTenantId,
    issuer: iss,
    audience: Array.isArray(aud) ? aud.join(' ') : (aud ?? ''),
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
  };
}
