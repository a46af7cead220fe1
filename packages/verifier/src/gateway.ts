import type { Verdict, VerificationCode } from './types.js';

const VERIFY_TOKEN = `query KeyledgerVerifierVerify($token: String!) {
  verifyToken(token: $token) { valid code token { id tenantId roles kind expiresAt } }
}`;

const VERIFY_PARTNER = `query KeyledgerVerifierVerifyPartner($token: String!, $tenantId: ID!, $subTenantId: ID!) {
  verifyPartnerAccessToken(token: $token, tenantId: $tenantId, subTenantId: $subTenantId) { valid code credentialId tenantId subTenantId expiresAt }
}`;

const KNOWN_CODES = new Set<string>(['VALID', 'NOT_FOUND', 'MALFORMED', 'REVOKED', 'EXPIRED', 'INSUFFICIENT_ROLES', 'WRONG_TENANT', 'DISABLED']);

/** keyledger could not give an answer (unreachable, overloaded, or the verifier's own token refused). */
export class GatewayUnavailable extends Error {
  constructor(
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'GatewayUnavailable';
  }
}

export interface PartnerClaims {
  jti: string;
  sub: string;
  tenantId: string;
  subTenantId: string;
  expiresAt: Date;
}

/** The two queries the verifier asks keyledger over HTTP. The credential travels only in the request body. */
export class GatewayClient {
  constructor(
    private readonly baseUrl: string,
    private readonly authorization: string,
    private readonly timeoutMs: number,
  ) {}

  async verifyToken(secret: string): Promise<Verdict> {
    const data = await this.query<{ verifyToken: { valid: boolean; code: string; token: TokenFields | null } }>(VERIFY_TOKEN, { token: secret });
    const { valid, code, token } = data.verifyToken;
    return {
      valid,
      code: codeOf(code),
      tokenId: token?.id ?? null,
      tenantId: token?.tenantId ?? null,
      roles: token?.roles ?? [],
      kind: token?.kind ?? null,
      expiresAt: token?.expiresAt ? new Date(token.expiresAt) : null,
    };
  }

  async verifyPartnerAccessToken(jwt: string, claims: PartnerClaims): Promise<Verdict> {
    const data = await this.query<{ verifyPartnerAccessToken: PartnerFields }>(VERIFY_PARTNER, {
      token: jwt,
      tenantId: claims.tenantId,
      subTenantId: claims.subTenantId,
    });
    const answer = data.verifyPartnerAccessToken;
    return {
      valid: answer.valid,
      code: codeOf(answer.code),
      tokenId: claims.jti,
      tenantId: answer.tenantId ?? claims.tenantId,
      roles: [],
      kind: 'PARTNER_ACCESS_TOKEN',
      expiresAt: answer.expiresAt ? new Date(answer.expiresAt) : claims.expiresAt,
      credentialId: answer.credentialId ?? claims.sub,
      subTenantId: answer.subTenantId ?? claims.subTenantId,
    };
  }

  /** The issuer keyledger signs partner access tokens as (RFC 8414 metadata). */
  async issuer(): Promise<string> {
    const response = await this.fetch(`${this.baseUrl}/.well-known/oauth-authorization-server`, { method: 'GET' });
    const body = (await response.json().catch(() => null)) as { issuer?: unknown } | null;
    if (!response.ok || typeof body?.issuer !== 'string') throw new GatewayUnavailable(`authorization server metadata answered ${response.status}`);
    return body.issuer;
  }

  private async query<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await this.fetch(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: this.authorization },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json().catch(() => null)) as { data?: T | null; errors?: Array<{ extensions?: { code?: unknown } }> } | null;
    const code = body?.errors?.[0]?.extensions?.code;
    if (body?.data) return body.data;
    throw new GatewayUnavailable(`keyledger answered ${response.status}${typeof code === 'string' ? ` ${code}` : ''}`, typeof code === 'string' ? code : null);
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new GatewayUnavailable(`keyledger unreachable: ${(error as Error).name}`);
    }
  }
}

interface TokenFields {
  id: string;
  tenantId: string;
  roles: string[];
  kind: string;
  expiresAt: string | null;
}

interface PartnerFields {
  valid: boolean;
  code: string;
  credentialId: string | null;
  tenantId: string | null;
  subTenantId: string | null;
  expiresAt: string | null;
}

function codeOf(code: string): VerificationCode {
  // A code added to keyledger later is a refusal this version cannot name.
  return KNOWN_CODES.has(code) ? (code as VerificationCode) : 'NOT_FOUND';
}
