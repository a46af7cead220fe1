/** `verifyToken`'s codes, and UNAVAILABLE when keyledger could not be asked. */
export type VerificationCode =
  | 'VALID'
  | 'NOT_FOUND'
  | 'MALFORMED'
  | 'REVOKED'
  | 'EXPIRED'
  | 'INSUFFICIENT_ROLES'
  | 'WRONG_TENANT'
  | 'UNAVAILABLE'
  | 'DISABLED';

/** What a resource server learns about a presented credential. */
export interface Verdict {
  valid: boolean;
  code: VerificationCode;
  /** The token's id; for a partner access token, its `jti`. Null when nothing was found. */
  tokenId: string | null;
  tenantId: string | null;
  roles: string[];
  /** The token's kind (API_TOKEN, WEBHOOK_TOKEN, …), or PARTNER_ACCESS_TOKEN. */
  kind: string | null;
  expiresAt: Date | null;
  /** Partner access tokens only: the credential that obtained it (the JWT's `sub`). */
  credentialId?: string;
  /** Partner access tokens only: the subtenant it was issued for. */
  subTenantId?: string;
}

export interface VerifyOptions {
  /** Roles the credential must hold; missing ones give INSUFFICIENT_ROLES. */
  requiredRoles?: readonly string[];
}

/** A notice from keyledger's `tokenRevoked` subscription, as the verifier received it. */
export interface RevocationNotice {
  tokenId: string;
  tenantId: string;
  kind: string;
  effectiveAt: string;
  position: string;
}

export type CacheOutcome = 'hit' | 'miss';

/** Counters and gauges for a metrics system; each hook is optional and must not throw. */
export interface VerifierMetrics {
  /** A verdict served from the cache. */
  hit?(event: { code: VerificationCode }): void;
  /** A verdict fetched from keyledger (or refused without asking, for a malformed credential). */
  miss?(event: { code: VerificationCode; reason: 'absent' | 'expired' | 'stale' | 'disconnected' }): void;
  /** A notice processed: `dropped` cached verdicts were removed or cut short. */
  notice?(event: { notice: RevocationNotice; dropped: number }): void;
  /** A cached verdict served while the subscription is down: how old the last certainty is. */
  staleness?(event: { milliseconds: number }): void;
  /** The notice subscription came up or went down. */
  connection?(event: { connected: boolean; code?: number; reason?: string }): void;
}

/** Where the verifier writes its few log lines. They never hold a credential. */
export interface VerifierLogger {
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface VerifierStats {
  hits: number;
  misses: number;
  notices: number;
  entries: number;
  connected: boolean;
  /** The position of the last notice processed: where a reconnect resumes. */
  lastPosition: string | null;
  /** Milliseconds since the subscription went down; 0 while it is up. */
  stalenessMs: number;
}
