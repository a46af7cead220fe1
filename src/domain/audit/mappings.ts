import type { KeyledgerEventType } from './event-types';
import { canonicalJson } from '../canonical-json';

/**
 * How one field of an event reaches the audit history:
 * - `show`: as recorded (identifiers, names, instants, public keys);
 * - `fingerprint`: a stored secret form (an HMAC lookup hash, an argon2 hash, a lookup tag,
 *   a ciphertext, a wrapped key) as `hmac-sha256:<hex>` under the audit key;
 * - `fingerprintSecret`: a value that is itself the credential material (a partner API key),
 *   fingerprinted the way `auditFingerprint` fingerprints a presented secret;
 * - `fingerprintObject`: customer data kept as a JSON object (a token's `meta`), as one
 *   fingerprint of its canonical JSON under the audit key: the history shows that and when it
 *   changed, and confirms a value someone already knows, without holding it;
 * - an object: the allow-list of a nested object.
 * A field that is not listed is dropped: the audit model is an allow-list, never a deny-list.
 */
export type AuditFieldRule = 'show' | 'fingerprint' | 'fingerprintSecret' | 'fingerprintObject' | AuditFieldRules;
export interface AuditFieldRules {
  readonly [field: string]: AuditFieldRule;
}

export interface AuditResource {
  type: string;
  id: string;
}

export interface AuditMapping {
  resource(data: Record<string, unknown>): AuditResource;
  fields: AuditFieldRules;
}

const str = (value: unknown) => String(value);
const token = (data: Record<string, unknown>): AuditResource => ({ type: 'token', id: str(data.tokenId) });
const connection = (data: Record<string, unknown>): AuditResource => ({ type: 'connection', id: `${str(data.integration)}/${str(data.name)}` });
const partnerCredential = (data: Record<string, unknown>): AuditResource => ({ type: 'partner-credential', id: str(data.credentialId) });
const accessToken = (data: Record<string, unknown>): AuditResource => ({ type: 'partner-access-token', id: str(data.jti) });
const signingKey = (data: Record<string, unknown>): AuditResource => ({ type: 'signing-key', id: str(data.kid) });
const deploymentSecret = (): AuditResource => ({ type: 'deployment-secret', id: 'deployment' });
const idempotencyKey = (data: Record<string, unknown>): AuditResource => ({ type: 'idempotency-key', id: str(data.keyId) });
const ssfStream = (data: Record<string, unknown>): AuditResource => ({ type: 'ssf-stream', id: str(data.streamId) });

const sealed: AuditFieldRules = { dataKeyId: 'show', ciphertext: 'fingerprint' };
const wrappedPrivateKey: AuditFieldRules = { scheme: 'show', ciphertext: 'fingerprint' };
const wrappedDeploymentSecret: AuditFieldRules = { wrappingKeyId: 'show', blob: 'fingerprint' };
/** Numbers, names and an interval, validated by the decider; shown whole so that a removal (null) is seen too. */
const usageControls: AuditFieldRules = { credits: 'show', rateLimits: 'show' };
const storedSecret: AuditFieldRules = { display: 'show', secretHash: 'fingerprint', lookupTag: 'fingerprint', origin: 'show', sealedSecret: sealed };

export const AUDIT_MAPPINGS: Readonly<Record<KeyledgerEventType, AuditMapping>> = {
  TokenIssued: {
    resource: token,
    fields: {
      tokenId: 'show',
      tenantId: 'show',
      kind: 'show',
      name: 'show',
      roles: 'show',
      expiresAt: 'show',
      ...storedSecret,
      issuedAt: 'show',
      code: 'show',
      botName: 'show',
      avatarUrl: 'show',
      ownerId: 'show',
      integrationId: 'show',
      meta: 'fingerprintObject',
      externalId: 'show',
      ...usageControls,
    },
  },
  TokenUpdated: {
    resource: token,
    fields: {
      tokenId: 'show',
      tenantId: 'show',
      changes: {
        name: 'show',
        roles: 'show',
        botName: 'show',
        avatarUrl: 'show',
        expiresAt: 'show',
        meta: 'fingerprintObject',
        externalId: 'show',
        ...usageControls,
      },
      updatedAt: 'show',
    },
  },
  TokenRotated: {
    resource: token,
    fields: { tokenId: 'show', tenantId: 'show', ...storedSecret, previousSecretsValidUntil: 'show', rotatedAt: 'show' },
  },
  TokenRevoked: { resource: token, fields: { tokenId: 'show', tenantId: 'show', reason: 'show', revokedAt: 'show', leak: { source: 'show', url: 'show' } } },
  TokenDisabled: { resource: token, fields: { tokenId: 'show', tenantId: 'show', disabledAt: 'show' } },
  TokenEnabled: { resource: token, fields: { tokenId: 'show', tenantId: 'show', enabledAt: 'show' } },
  TokenIssueAbandoned: { resource: token, fields: { tokenId: 'show', tenantId: 'show', abandonedAt: 'show' } },
  TokenCreditsSpent: {
    resource: token,
    fields: { tokenId: 'show', tenantId: 'show', grant: 'show', period: 'show', cost: 'show', remaining: 'show', spentAt: 'show' },
  },
  TokenVerificationsCounted: {
    resource: (data) => ({ type: 'token-verifications', id: str(data.tenantId) }),
    fields: { tenantId: 'show', buckets: 'show', countedAt: 'show' },
  },

  TokenCodeReserved: {
    resource: (data) => ({ type: 'token-code', id: str(data.code).toLowerCase() }),
    fields: { tenantId: 'show', code: 'show', tokenId: 'show', reservedAt: 'show' },
  },
  TokenCodeReleased: {
    resource: (data) => ({ type: 'token-code', id: str(data.code).toLowerCase() }),
    fields: { tenantId: 'show', code: 'show', tokenId: 'show', releasedAt: 'show' },
  },
  IntegrationKeySlotTaken: {
    resource: (data) => ({ type: 'integration', id: str(data.integrationId) }),
    fields: { tenantId: 'show', integrationId: 'show', tokenId: 'show', takenAt: 'show' },
  },
  IntegrationKeySlotReleased: {
    resource: (data) => ({ type: 'integration', id: str(data.integrationId) }),
    fields: { tenantId: 'show', integrationId: 'show', tokenId: 'show', releasedAt: 'show' },
  },
  ImportedSecretClaimed: {
    resource: token,
    fields: { tenantId: 'show', tokenId: 'show', lookupTag: 'fingerprint', secretHash: 'fingerprint', claimedAt: 'show' },
  },

  ConnectionCreated: {
    resource: connection,
    fields: {
      connectionId: 'show',
      generation: 'show',
      tenantId: 'show',
      integration: 'show',
      name: 'show',
      headerName: 'show',
      allowedDomain: 'show',
      sealedApiKey: sealed,
      createdAt: 'show',
    },
  },
  ConnectionUpdated: {
    resource: connection,
    fields: {
      connectionId: 'show',
      tenantId: 'show',
      integration: 'show',
      name: 'show',
      changes: { headerName: 'show', allowedDomain: 'show', sealedApiKey: sealed },
      supersededDataKeyId: 'show',
      updatedAt: 'show',
    },
  },
  ConnectionDeleted: {
    resource: connection,
    fields: { connectionId: 'show', tenantId: 'show', integration: 'show', name: 'show', dataKeyId: 'show', deletedAt: 'show' },
  },
  ConnectionUsed: {
    resource: connection,
    fields: { connectionId: 'show', tenantId: 'show', integration: 'show', name: 'show', host: 'show', usedAt: 'show' },
  },

  AuthenticationFailed: {
    resource: (data) => ({ type: data.credentialType === 'partner' ? 'partner-access-token' : 'token', id: data.credentialId == null ? 'unknown' : str(data.credentialId) }),
    fields: { tenantId: 'show', credentialId: 'show', credentialType: 'show', code: 'show', failedAt: 'show' },
  },
  PrivilegedTokenVerified: {
    resource: token,
    fields: { tenantId: 'show', tokenId: 'show', code: 'show', requiredRoles: 'show', anyOf: 'show', verifiedAt: 'show' },
  },

  PartnerCredentialCreated: {
    resource: partnerCredential,
    fields: {
      credentialId: 'show',
      tenantId: 'show',
      name: 'show',
      subTenantIds: 'show',
      apiKey: 'fingerprintSecret',
      secretDisplay: 'show',
      secretHash: 'fingerprint',
      createdAt: 'show',
    },
  },
  PartnerCredentialRevoked: {
    resource: partnerCredential,
    fields: { credentialId: 'show', tenantId: 'show', reason: 'show', revokedAt: 'show' },
  },
  AccessTokenIssued: {
    resource: accessToken,
    fields: { jti: 'show', credentialId: 'show', tenantId: 'show', subTenantId: 'show', kid: 'show', issuer: 'show', issuedAt: 'show', expiresAt: 'show' },
  },
  AccessTokenRevoked: {
    resource: accessToken,
    fields: {
      jti: 'show',
      credentialId: 'show',
      tenantId: 'show',
      subTenantId: 'show',
      expiresAt: 'show',
      reason: 'show',
      revokedAt: 'show',
    },
  },

  SigningKeyGenerated: {
    resource: signingKey,
    fields: { kid: 'show', alg: 'show', publicJwk: 'show', wrappedPrivateKey, generatedAt: 'show' },
  },
  SigningKeyRotated: {
    resource: signingKey,
    fields: {
      kid: 'show',
      alg: 'show',
      publicJwk: 'show',
      wrappedPrivateKey,
      rotatedAt: 'show',
      previousKid: 'show',
      previousPublishedUntil: 'show',
    },
  },
  DeploymentSecretGenerated: { resource: deploymentSecret, fields: { wrapped: wrappedDeploymentSecret, generatedAt: 'show' } },
  DeploymentSecretRewrapped: {
    resource: deploymentSecret,
    fields: { wrapped: wrappedDeploymentSecret, previousWrappingKeyId: 'show', rewrappedAt: 'show' },
  },

  // `hash` is an audit chain hash, public by design (every entry shows its own), not a stored secret.
  AuditHeadSigned: {
    resource: (data) => ({ type: 'audit-head', id: str(data.tenantId) }),
    fields: { tenantId: 'show', position: 'show', hash: 'show', entries: 'show', jws: 'show' },
  },

  // `keyId` and `requestFingerprint` are HMACs under a key derived from the deployment secret: the key and the request stay unreadable.
  IdempotencyKeyClaimed: {
    resource: idempotencyKey,
    fields: { keyId: 'show', tenantId: 'show', operation: 'show', requestFingerprint: 'show', claimedAt: 'show' },
  },
  IdempotentRequestCompleted: {
    resource: idempotencyKey,
    fields: {
      keyId: 'show',
      tenantId: 'show',
      operation: 'show',
      outcome: { type: 'show', id: 'show', connectionId: 'show', tenantId: 'show', integration: 'show', name: 'show', apiKeyDataKeyId: 'show', position: 'show', eventId: 'show', signedAt: 'show', kid: 'show' },
      completedAt: 'show',
      expiresAt: 'show',
    },
  },
  IdempotencyKeyReleased: { resource: idempotencyKey, fields: { keyId: 'show', tenantId: 'show', operation: 'show', releasedAt: 'show' } },

  // `reportId` is an HMAC of the report's body under a deployment key: it names the report, and matches no secret.
  SecretScanningReportReceived: {
    resource: (data) => ({ type: 'leak-report', id: `${str(data.source)}/${str(data.reportId)}` }),
    fields: { reportId: 'show', source: 'show', matches: 'show', truePositives: 'show', receivedAt: 'show' },
  },
  TokenLeakReported: {
    resource: token,
    fields: { tokenId: 'show', tenantId: 'show', kind: 'show', source: 'show', url: 'show', reportId: 'show', action: 'show', reportedAt: 'show' },
  },
  SsfStreamCreated: {
    resource: ssfStream,
    fields: { streamId: 'show', tenantId: 'show', audience: 'show', method: 'show', endpointUrl: 'show', eventsRequested: 'show', description: 'show', createdAt: 'show' },
  },
  SsfStreamUpdated: {
    resource: ssfStream,
    fields: { streamId: 'show', tenantId: 'show', changes: { eventsRequested: 'show', description: 'show', endpointUrl: 'show' }, updatedAt: 'show' },
  },
  SsfStreamStatusChanged: { resource: ssfStream, fields: { streamId: 'show', tenantId: 'show', status: 'show', reason: 'show', changedAt: 'show' } },
  SsfStreamDeleted: { resource: ssfStream, fields: { streamId: 'show', tenantId: 'show', deletedAt: 'show' } },
  SsfVerificationRequested: { resource: ssfStream, fields: { streamId: 'show', tenantId: 'show', state: 'show', requestedAt: 'show' } },
  SsfDeliveryLeased: { resource: ssfStream, fields: { streamId: 'show', tenantId: 'show', holder: 'show', leasedUntil: 'show' } },
  SsfSetsDelivered: { resource: ssfStream, fields: { streamId: 'show', tenantId: 'show', position: 'show', jtis: 'show' } },
  SsfSetsAcknowledged: { resource: ssfStream, fields: { streamId: 'show', tenantId: 'show', ackedThrough: 'show', ackedAbove: 'show' } },
};

/** The fingerprints a redaction needs; implemented with the deployment's audit key. */
export interface AuditFingerprints {
  ofStored(value: string): string;
  ofSecret(value: string): string;
}

/**
 * The allow-listed part of `data`, secret-bearing values replaced by fingerprints. Values of
 * a `show` field are copied; a nested rule applies only to a plain object (anything else
 * there is dropped, so an unexpected shape cannot smuggle a secret through).
 */
export function redact(data: Record<string, unknown>, rules: AuditFieldRules, fingerprints: AuditFingerprints): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [field, rule] of rulesInKeyOrder(rules)) {
    if (!Object.prototype.hasOwnProperty.call(data, field)) continue;
    const value = data[field];
    if (value === undefined) continue;
    if (rule === 'show') result[field] = value;
    else if (rule === 'fingerprintObject') {
      if (value === null) result[field] = null;
      else if (typeof value === 'object' && !Array.isArray(value)) result[field] = fingerprints.ofStored(canonicalJson(value));
    }
    else if (rule === 'fingerprint' || rule === 'fingerprintSecret') {
      if (value === null) result[field] = null;
      else if (typeof value === 'string') result[field] = rule === 'fingerprint' ? fingerprints.ofStored(value) : fingerprints.ofSecret(value);
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      result[field] = redact(value as Record<string, unknown>, rule, fingerprints);
    }
  }
  return result;
}

const rulesByKey = new WeakMap<AuditFieldRules, ReadonlyArray<readonly [string, AuditFieldRule]>>();

/*
 * The fields in code-unit order, computed once per rule set: a redacted object then has its
 * keys in canonical order already, and the audit entry's canonical form needs no sorted copy.
 */
function rulesInKeyOrder(rules: AuditFieldRules): ReadonlyArray<readonly [string, AuditFieldRule]> {
  let ordered = rulesByKey.get(rules);
  if (ordered === undefined) {
    ordered = Object.entries(rules).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    rulesByKey.set(rules, ordered);
  }
  return ordered;
}
