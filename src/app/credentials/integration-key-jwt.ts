import { errors, jwtVerify } from 'jose';

export type JwtCheck = 'valid' | 'bad-signature' | 'expired' | 'invalid';

/**
 * Checks a JWT a client signed with an integration key's secret. Only HS256 is accepted,
 * the signature is checked before any claim, and `exp`/`nbf` are compared with the
 * gateway's clock without leeway. A JWT without `exp` is accepted, as the systems this
 * replaces issue app-scoped JWTs that never expire.
 */
export async function checkIntegrationKeyJwt(jwt: string, secret: string, now: Date): Promise<JwtCheck> {
  try {
    await jwtVerify(jwt, new TextEncoder().encode(secret), { algorithms: ['HS256'], currentDate: now });
    return 'valid';
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad-signature';
    if (error instanceof errors.JWTExpired) return 'expired';
    return 'invalid';
  }
}
