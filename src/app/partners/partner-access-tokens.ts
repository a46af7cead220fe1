import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
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

class UnknownSigningKey extends Error {}

/**
 * Partner access tokens: JWTs the gateway signs (RFC 9068 profile) and verifies under
 * RFC 8725 rules — an explicit algorithm allow-list, an explicit `typ`, and fixed `iss` and
 * `aud`. A token dies with its credential: verification also reads the credential's status
 * and the token's own revocation.
 */
export class PartnerAccessTokenService {
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
      iss: this.issuer,
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

  /** True when a presented credential is shaped like one of these tokens (header `typ: at+jwt`). */
  accepts(presented: string): boolean {
    if (presented.length > MAX_JWT_LENGTH || !JWT_SHAPE.test(presented)) return false;
    try {
      return normalizeTyp(decodeProtectedHeader(presented).typ) === ACCESS_TOKEN_TYP;
    } catch {
      return false;
    }
  }

  async verify(presented: string): Promise<AccessTokenCheck> {
    if (!this.accepts(presented)) return { code: 'MALFORMED', claims: null };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(presented, (header) => this.keyFor(header), {
        algorithms: [...SigningAlgorithms],
        typ: ACCESS_TOKEN_TYP,
        issuer: this.issuer,
        audience: ACCESS_TOKEN_AUDIENCE,
        requiredClaims: ['iss', 'aud', 'sub', 'jti', 'iat', 'exp', 'tenant_id', 'sub_tenant_id'],
        currentDate: this.clock.now(),
      }));
    } catch (error) {
      // jose checks the signature before the claims, so an expired token is one of ours.
      if (error instanceof joseErrors.JWTExpired) {
        const claims = claimsOf(error.payload);
        return { code: claims ? 'EXPIRED' : 'MALFORMED', claims };
      }
      if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return { code: 'MALFORMED', claims: null };
      // A bad signature, an unknown kid, or another issuer, audience or algorithm: not a token of ours.
      if (error instanceof joseErrors.JOSEError || error instanceof UnknownSigningKey) return { code: 'NOT_FOUND', claims: null };
      throw error;
    }
    const claims = claimsOf(payload);
    if (!claims) return { code: 'MALFORMED', claims: null };
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

  private keyFor(header: ProtectedHeaderParameters): KeyObject {
    const found = header.kid ? this.signingKeys.verificationKey(header.kid) : null;
    if (!found || found.alg !== header.alg) throw new UnknownSigningKey('No published signing key matches the token');
    return found.key;
  }
}

function normalizeTyp(typ: string | undefined): string | undefined {
  return typ?.toLowerCase().replace(/^application\//, '');
}

function claimsOf(payload: JWTPayload): AccessTokenClaims | null {
  const { jti, sub, iss, aud, iat, exp } = payload;
  const tenantId = payload.tenant_id;
  const subTenantId = payload.sub_tenant_id;
  const clientId = payload.client_id;
  if (typeof jti !== 'string' || typeof sub !== 'string' || typeof iss !== 'string') return null;
  if (typeof tenantId !== 'string' || typeof subTenantId !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
  return {
    jti,
    credentialId: sub,
    clientId: typeof clientId === 'string' ? clientId : '',
    tenantId,
    subTenantId,
    issuer: iss,
    audience: Array.isArray(aud) ? aud.join(' ') : (aud ?? ''),
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
  };
}
