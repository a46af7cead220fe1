import { graphql, type GraphQLResponse } from './graphql-client';

const FIELDS = 'name integration tenantId headerName apiKey allowedDomain createdAt updatedAt';

export const CREATE_CONNECTION = `mutation Create($input: CreateApiKeyConnectionInput!) { createApiKeyConnection(input: $input) { ${FIELDS} } }`;
export const UPDATE_CONNECTION = `mutation Update($input: UpdateApiKeyConnectionInput!) { updateApiKeyConnection(input: $input) { ${FIELDS} } }`;
export const DELETE_CONNECTION = `mutation Delete($integration: String!, $name: String!, $tenantId: ID) {
  deleteApiKeyConnection(integration: $integration, name: $name, tenantId: $tenantId)
}`;
export const GET_CONNECTION = `query Get($integration: String!, $name: String!, $tenantId: ID) {
  apiKeyConnection(integration: $integration, name: $name, tenantId: $tenantId) { ${FIELDS} }
}`;
export const LIST_CONNECTIONS = `query List($integration: String!, $first: Int, $after: String, $tenantId: ID) {
  apiKeyConnections(integration: $integration, first: $first, after: $after, tenantId: $tenantId) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${FIELDS} } }
  }
}`;
export const USE_CONNECTION = `mutation Use($integration: String!, $name: String!, $url: String!, $tenantId: ID) {
  useApiKeyConnection(integration: $integration, name: $name, url: $url, tenantId: $tenantId) { headerName apiKey }
}`;

export interface ConnectionInput {
  integration: string;
  name: string;
  headerName: string;
  apiKey: string;
  allowedDomain: string;
  tenantId?: string;
}

export async function createConnection(url: string, bearer: string, input: ConnectionInput): Promise<Record<string, any>> {
  const response = await graphql(url, CREATE_CONNECTION, { input }, bearer);
  if (response.errors) throw new Error(`createApiKeyConnection failed: ${JSON.stringify(response.errors)}`);
  return response.data!.createApiKeyConnection;
}

export function useConnection(url: string, bearer: string, variables: { integration: string; name: string; url: string; tenantId?: string }): Promise<GraphQLResponse> {
  return graphql(url, USE_CONNECTION, variables, bearer);
}

/** The REST shape: `fetch` against the Zendesk-compatible routes. */
export async function rest(
  baseUrl: string,
  method: string,
  path: string,
  bearer?: string,
  body?: unknown,
): Promise<{ status: number; body: any; headers: Headers; raw: string }> {
  const response = await fetch(`${baseUrl}/api/services/zis/integrations/${path}`, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const raw = await response.text();
  return { status: response.status, body: raw.length > 0 ? JSON.parse(raw) : null, headers: response.headers, raw };
}
