import type { Credits, TokenRateLimit } from './usage-controls';

/**
 * Token events. None holds a secret: generated secrets appear only as their HMAC lookup
 * hash, chosen or imported ones only as an argon2id hash, and an integration key's secret
 * (which must be recoverable to check client-signed JWTs) only as ciphertext under a data
 * key that lives outside the log.
 */
export const TokenKinds = ['API_TOKEN', 'WEBHOOK_TOKEN', 'INTEGRATION_KEY'] as const;
export type TokenKind = (typeof TokenKinds)[number];

/** How the secret came to be, which decides how it is stored and verified. */
export type SecretOrigin = 'generated' | 'imported' | 'bootstrap';

/**
 * A secret encrypted under a per-key data key. `dataKeyId` names the key in the data key
 * store; destroying that key makes `ciphertext` unreadable for good (crypto-shredding).
 */
export interface SealedSecret {
  dataKeyId: string;
  ciphertext: string;
}

export interface TokenIssued {
  type: 'TokenIssued';
  data: {
    tokenId: string;
    tenantId: string;
    kind: TokenKind;
    name: string;
    roles: string[];
    /** ISO instant or null for no expiry. */
    expiresAt: string | null;
    /** Prefix and first four characters of the secret. */
    display: string;
    /** `hmac-sha256$...` or an argon2id PHC string. */
    secretHash: string;
    /** Short HMAC tag to find argon2-hashed secrets; null for HMAC-hashed ones. */
    lookupTag: string | null;
    origin: SecretOrigin;
    issuedAt: string;
    /*
     * Kind-specific fields are present only when set, so the events of plain tokens keep
     * their v1 shape.
     */
    /** API_TOKEN: unique in the tenant (case-insensitively), reserved in its own stream first. */
    code?: string;
    /** API_TOKEN: the bot identity the token acts as. */
    botName?: string;
    avatarUrl?: string;
    /** WEBHOOK_TOKEN: the user the token belongs to. */
    ownerId?: string;
    /** INTEGRATION_KEY: the integration it authenticates, and its recoverable secret. */
    integrationId?: string;
    sealedSecret?: SealedSecret;
    /*
     * Usage controls, present only when set. `meta` is the customer's own data: never a
     * secret by contract, and audited only as a fingerprint.
     */
    meta?: Record<string, unknown>;
    /** The customer the token belongs to, in the tenant's own terms. */
    externalId?: string;
    /** Usage controls, present only when set: the balance verifications spend, and named rate limits. */
    credits?: Credits;
    rateLimits?: TokenRateLimit[];
  };
}

/** Fields `updateToken` may change. A null clears an optional field. */
export interface TokenChanges {
  name?: string;
  roles?: string[];
  botName?: string | null;
  avatarUrl?: string | null;
  expiresAt?: string | null;
  // Usage controls.
  meta?: Record<string, unknown> | null;
  externalId?: string | null;
  /** Present whenever credits are set, even to the same numbers: setting them sets the balance. Null removes them. */
  credits?: Credits | null;
  /** The whole new list; empty removes every limit. */
  rateLimits?: TokenRateLimit[];
}

export interface TokenUpdated {
  type: 'TokenUpdated';
  data: {
    tokenId: string;
    tenantId: string;
    /** Only the fields that changed. */
    changes: TokenChanges;
    updatedAt: string;
  };
}

export interface TokenRotated {
  type: 'TokenRotated';
  data: {
    tokenId: string;
    tenantId: string;
    display: string;
    secretHash: string;
    /** Always null today: rotation generates the new secret, so it is HMAC-hashed. */
    lookupTag: string | null;
    origin: SecretOrigin;
    sealedSecret?: SealedSecret;
    /**
     * Every earlier secret verifies until this instant (exclusive) and is revoked from then
     * on; earlier secrets already ending sooner keep their own end.
     */
    previousSecretsValidUntil: string;
    rotatedAt: string;
  };
}

/**
 * Where a leaked secret was found, as the reporter said: never the secret itself. `source`
 * names the reporter (`github` for a code host's secret scanning, `public` for the public
 * revocation endpoint); `url` is the location it gave, when it gave one.
 */
export interface LeakLocation {
  source: string;
  url: string | null;
}

export interface TokenRevoked {
  type: 'TokenRevoked';
  data: {
    tokenId: string;
    tenantId: string;
    reason: string | null;
    revokedAt: string;
    /** Present only on a revocation for a leak (reason `leaked`). */
    leak?: LeakLocation;
  };
}

/**
 * A token paused: every check refuses it (`DISABLED`) until a `TokenEnabled`. Unlike a
 * revocation it can be undone, so nothing about the token is destroyed.
 */
export interface TokenDisabled {
  type: 'TokenDisabled';
  data: {
    tokenId: string;
    tenantId: string;
    disabledAt: string;
  };
}

export interface TokenEnabled {
  type: 'TokenEnabled';
  data: {
    tokenId: string;
    tenantId: string;
    enabledAt: string;
  };
}

/**
 * Written into the stream of a token that was reserved a code or an integration slot but
 * never issued (its issuer failed or stalled). It takes the stream, so the late issue fails
 * with a conflict instead of creating a second holder; see `token-claims`.
 */
export interface TokenIssueAbandoned {
  type: 'TokenIssueAbandoned';
  data: {
    tokenId: string;
    tenantId: string;
    abandonedAt: string;
  };
}

export type TokenEvent = TokenIssued | TokenUpdated | TokenRotated | TokenRevoked | TokenIssueAbandoned | TokenDisabled | TokenEnabled;
export type TokenEventType = TokenEvent['type'];
export const TOKEN_EVENT_TYPES: readonly TokenEventType[] = [
  'TokenIssued',
  'TokenUpdated',
  'TokenRotated',
  'TokenRevoked',
  'TokenIssueAbandoned',
  'TokenDisabled',
  'TokenEnabled',
];

export const tokenStreamId = (tokenId: string) => `token-${tokenId}`;
