/** The GraphQL operations the console sends: the public API, nothing private. */

const TOKEN_FIELDS = `id kind name code botName avatarUrl roles status display ownerId integrationId createdAt updatedAt expiresAt revokedAt rotatedAt lastUsedAt
  enabled meta externalId`;

export interface TokenNode {
  id: string;
  kind: 'API_TOKEN' | 'WEBHOOK_TOKEN' | 'INTEGRATION_KEY';
  name: string;
  code: string | null;
  botName: string | null;
  avatarUrl: string | null;
  roles: string[];
  status: 'ACTIVE' | 'EXPIRED' | 'REVOKED';
  display: string;
  ownerId: string | null;
  integrationId: string | null;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  rotatedAt: string | null;
  lastUsedAt: string | null;
  enabled: boolean;
  meta: Record<string, unknown> | null;
  externalId: string | null;
  /** Read on a token's page only. */
  credits?: TokenCredits | null;
  rateLimits?: RateLimit[];
}

export type RefillInterval = 'DAILY' | 'MONTHLY';

export interface TokenCredits {
  remaining: number;
  refill: { amount: number; interval: RefillInterval } | null;
  refillsAt: string | null;
}

export interface RateLimit {
  name: string;
  limit: number;
  durationSeconds: number;
}

export interface Page<T> {
  edges: Array<{ node: T }>;
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
  totalCount?: number;
}

export const VIEWER = `query Viewer { viewer { id tenantId roles } }`;

export const TOKENS = `query Tokens($first: Int, $after: String, $filter: TokenFilter) {
  tokens(first: $first, after: $after, filter: $filter) { totalCount pageInfo { endCursor hasNextPage } edges { node { ${TOKEN_FIELDS} } } }
}`;

export const TOKEN = `query Token($id: ID!) {
  token(id: $id) { ${TOKEN_FIELDS} credits { remaining refill { amount interval } refillsAt } rateLimits { name limit durationSeconds } }
}`;

export interface UsageBucket {
  start: string;
  total: number;
  outcomes: Array<{ code: string; count: number }>;
}

export const TOKEN_USAGE = `query TokenUsage($id: ID!, $from: DateTime!, $to: DateTime!, $granularity: UsageGranularity!) {
  tokenUsage(id: $id, from: $from, to: $to, granularity: $granularity) { start total outcomes { code count } }
}`;

export const ISSUE_TOKEN = `mutation IssueToken($input: IssueTokenInput!) {
  issueToken(input: $input) { secret token { ${TOKEN_FIELDS} } }
}`;

export const UPDATE_TOKEN = `mutation UpdateToken($input: UpdateTokenInput!) { updateToken(input: $input) { ${TOKEN_FIELDS} } }`;

export const ROTATE_TOKEN = `mutation RotateToken($input: RotateTokenInput!) {
  rotateToken(input: $input) { secret token { ${TOKEN_FIELDS} } }
}`;

export const REVOKE_TOKEN = `mutation RevokeToken($input: RevokeTokenInput!) { revokeToken(input: $input) { ${TOKEN_FIELDS} } }`;

export interface AuditEntryNode {
  id: string;
  position: string;
  eventType: string;
  occurredAt: string;
  actor: { id: string; type: string };
  resource: { id: string; type: string };
  changes: Record<string, unknown>;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  hash: string;
}

export const AUDIT_LOG = `query AuditLog($first: Int, $after: String, $filter: AuditLogFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    pageInfo { endCursor hasNextPage }
    edges { node { id position eventType occurredAt actor { id type } resource { id type } changes requestId ip userAgent hash } }
  }
}`;

export const AUDIT_INTEGRITY = `query AuditIntegrity {
  auditIntegrity { ok entries head signedHeadsChecked firstBreak { position reason eventId } brokenSignedHeads { position hash } }
}`;

export const AUDIT_FINGERPRINT = `query AuditFingerprint($value: String!) { auditFingerprint(value: $value) }`;

export interface ConnectionNode {
  name: string;
  integration: string;
  headerName: string;
  allowedDomain: string;
  apiKey: string;
  createdAt: string;
  updatedAt: string;
}

const CONNECTION_FIELDS = `name integration headerName allowedDomain apiKey createdAt updatedAt`;

export const CONNECTIONS = `query Connections($integration: String!, $first: Int, $after: String) {
  apiKeyConnections(integration: $integration, first: $first, after: $after) {
    totalCount pageInfo { endCursor hasNextPage } edges { node { ${CONNECTION_FIELDS} } }
  }
}`;

export const CREATE_CONNECTION = `mutation CreateConnection($input: CreateApiKeyConnectionInput!) { createApiKeyConnection(input: $input) { ${CONNECTION_FIELDS} } }`;
export const UPDATE_CONNECTION = `mutation UpdateConnection($input: UpdateApiKeyConnectionInput!) { updateApiKeyConnection(input: $input) { ${CONNECTION_FIELDS} } }`;
export const DELETE_CONNECTION = `mutation DeleteConnection($integration: String!, $name: String!) { deleteApiKeyConnection(integration: $integration, name: $name) }`;

export interface PartnerNode {
  id: string;
  name: string;
  apiKey: string;
  secretDisplay: string;
  status: 'ACTIVE' | 'REVOKED';
  subTenantIds: string[];
  createdAt: string;
  revokedAt: string | null;
}

const PARTNER_FIELDS = `id name apiKey secretDisplay status subTenantIds createdAt revokedAt`;

export const PARTNERS = `query Partners($first: Int, $after: String) {
  partnerCredentials(first: $first, after: $after) { totalCount pageInfo { endCursor hasNextPage } edges { node { ${PARTNER_FIELDS} } } }
}`;

export const CREATE_PARTNER = `mutation CreatePartner($input: CreatePartnerCredentialInput!) {
  createPartnerCredential(input: $input) { apiKey apiSecret credential { ${PARTNER_FIELDS} } }
}`;

export const REVOKE_PARTNER = `mutation RevokePartner($input: RevokePartnerCredentialInput!) { revokePartnerCredential(input: $input) { ${PARTNER_FIELDS} } }`;

export interface RevocationNotice {
  eventId: string;
  position: string;
  tokenId: string;
  tenantId: string;
  kind: 'REVOKED' | 'ROTATED' | 'PARTNER_TOKEN_REVOKED' | 'PARTNER_CREDENTIAL_REVOKED' | 'DISABLED';
  effectiveAt: string;
  reason: string | null;
  actor: { id: string; type: string };
}

export const TOKEN_REVOKED = `subscription TokenRevoked($afterPosition: String) {
  tokenRevoked(afterPosition: $afterPosition) { eventId position tokenId tenantId kind effectiveAt reason actor { id type } }
}`;
