import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { PartnerClaims } from './gateway.js';
import type { VerificationCode } from './types.js';

/** A compact JWS whose header says it is a keyledger partner access token (ES256, `at+jwt`). */
export function isPartnerAccessToken(credential: string): boolean {
  if (!/^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(credential)) return false;
  try {
    const header = decodeProtectedHeader(credential);
    return header.typ === 'at+jwt';
  } catch {
    return false;
  }
}

export type LocalCheck = { ok: true; claims: PartnerClaims } | { ok: false; code: VerificationCode };

/**
 * Checks a partner access token against keyledger's JWKS as the gateway itself does
 * (RFC 8725: an algorithm allow-list, and `typ`, `iss`, `aud`, `exp`), without asking it.
 */
export class PartnerTokenChecker {
  private readonly jwks: JWTVerifyGetKey;
  private issuer: Promise<string> | null = null;

  constructor(
    baseUrl: string,
    private readonly issuerOf: () => Promise<string>,
    private readonly now: () => number,
  ) {
    this.jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
  }

  async check(jwt: string): Promise<LocalCheck> {
    const issuer = await this.expectedIssuer();
    try {
      const { payload } = await jwtVerify(jwt, this.jwks, {
        issuer,
        audience: 'keyledger',
        typ: 'at+jwt',
        algorithms: ['ES256'],
        requiredClaims: ['jti', 'sub', 'exp', 'iat'],
        currentDate: new Date(this.now()),
      });
      const { jti, sub, exp, tenant_id: tenantId, sub_tenant_id: subTenantId } = payload as Record<string, unknown>;
      if (typeof jti !== 'string' || typeof sub !== 'string' || typeof tenantId !== 'string' || typeof subTenantId !== 'string') {
        return { ok: false, code: 'MALFORMED' };
      }
      return { ok: true, claims: { jti, sub, tenantId, subTenantId, expiresAt: new Date(Number(exp) * 1000) } };
    } catch (error) {
      if (error instanceof errors.JWTExpired) return { ok: false, code: 'EXPIRED' };
      // The JWKS could not be fetched: that says nothing about the token.
      if (error instanceof errors.JWKSTimeout || (error instanceof Error && !(error instanceof errors.JOSEError))) {
        return { ok: false, code: 'UNAVAILABLE' };
      }
      return { ok: false, code: 'MALFORMED' };
    }
  }

  private expectedIssuer(): Promise<string> {
    if (!this.issuer) {
      this.issuer = this.issuerOf();
      // A failed lookup is retried on the next token rather than remembered.
      this.issuer.catch(() => (this.issuer = null));
    }
    return this.issuer;
  }
}
