import { createRemoteJWKSet, jwtVerify, type JWTVerifyResult } from 'jose';
import { graphql, type GraphQLResponse } from './graphql-client';

export const CREATE_PARTNER_CREDENTIAL = `mutation Create($input: CreatePartnerCredentialInput!) {
  createPartnerCredential(input: $input) { apiKey apiSecret credential { id tenantId name subTenantIds apiKey secretDisplay status createdAt revokedAt } }
}`;

export const REVOKE_PARTNER_CREDENTIAL = `mutation Revoke($input: RevokePartnerCredentialInput!) {
  revokePartnerCredential(input: $input) { id status revokedAt }
}`;

export const PARTNER_CREDENTIAL = `query Credential($id: ID!) {
  partnerCredential(id: $id) { id tenantId name subTenantIds apiKey secretDisplay status }
}`;

export const PARTNER_CREDENTIALS = `query Credentials($first: Int, $after: String, $tenantId: ID) {
  partnerCredentials(first: $first, after: $after, tenantId: $tenantId) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name status } }
  }
}`;

export const EXCHANGE = `mutation Exchange($apiKey: String!, $apiSecret: String!, $tenantId: ID!, $subTenantId: ID!) {
  exchangePartnerCredential(apiKey: $apiKey, apiSecret: $apiSecret, tenantId: $tenantId, subTenantId: $subTenantId) { accessToken expiresAt tokenType }
}`;

export const VERIFY_PARTNER_ACCESS_TOKEN = `query VerifyPartner($token: String!, $tenantId: ID!, $subTenantId: ID!) {
  verifyPartnerAccessToken(token: $token, tenantId: $tenantId, subTenantId: $subTenantId) { valid code credentialId tenantId subTenantId expiresAt }
}`;

export const SOURCE_PATH = '/api/v1/partner/dashboard/auth/token';

export interface PartnerCredentialFixture {
  id: string;
  apiKey: string;
  apiSecret: string;
}

export async function createPartnerCredential(url: string, bearer: string, input: Record<string, unknown>): Promise<PartnerCredentialFixture> {
  const response = await graphql(url, CREATE_PARTNER_CREDENTIAL, { input }, bearer);
  if (response.errors) throw new Error(`createPartnerCredential failed: ${JSON.stringify(response.errors)}`);
  const created = response.data!.createPartnerCredential;
  return { id: created.credential.id, apiKey: created.apiKey, apiSecret: created.apiSecret };
}

/** The source system's REST door, with whichever headers are given. */
export async function sourceExchange(url: string, headers: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${url}${SOURCE_PATH}`, { headers });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

export function sourceHeaders(credential: PartnerCredentialFixture, tenantId: string, subTenantId: string): Record<string, string> {
  return { 'x-api-key': credential.apiKey, 'x-api-secret': credential.apiSecret, 'x-tenant-id': tenantId, 'x-sub-tenant-id': subTenantId };
}

export function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

/** Posts a form to an OAuth endpoint. */
export async function postForm(
  url: string,
  path: string,
  form: Record<string, string> | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: response.status, body, text, headers: response.headers };
}

export async function oauthToken(url: string, credential: PartnerCredentialFixture, tenantId: string, subTenantId: string): Promise<string> {
  const response = await postForm(
    url,
    '/oauth/token',
    { grant_type: 'client_credentials', tenant_id: tenantId, sub_tenant_id: subTenantId },
    { authorization: basic(credential.apiKey, credential.apiSecret) },
  );
  if (response.status !== 200) throw new Error(`oauth token failed: ${response.status} ${response.text}`);
  return response.body.access_token;
}

export async function graphqlExchange(url: string, credential: PartnerCredentialFixture, tenantId: string, subTenantId: string): Promise<GraphQLResponse> {
  return graphql(url, EXCHANGE, { apiKey: credential.apiKey, apiSecret: credential.apiSecret, tenantId, subTenantId });
}

/** How a resource server verifies the JWT: jose against the gateway's JWKS, RFC 8725 style. */
export function jwtVerifier(url: string) {
  const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`), { cooldownDuration: 0 });
  return (jwt: string): Promise<JWTVerifyResult> =>
    jwtVerify(jwt, jwks, { issuer: url, audience: 'keyledger', typ: 'at+jwt', algorithms: ['ES256'], requiredClaims: ['jti', 'sub', 'exp', 'iat'] });
}
