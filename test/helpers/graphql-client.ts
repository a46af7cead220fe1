export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, any>; path?: unknown }>;
  raw: string;
}

/** Posts a GraphQL operation over real HTTP, as a client would. */
export async function graphql<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  bearer?: string,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const raw = await response.text();
  const body = raw.length > 0 ? JSON.parse(raw) : {};
  return { status: response.status, data: body.data, errors: body.errors, raw };
}

/** The first error's code, for assertions. */
export function errorCode(response: GraphQLResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}

export const ISSUE_TOKEN = `mutation Issue($input: IssueTokenInput!) {
  issueToken(input: $input) { secret token { id tenantId kind name roles status display createdAt expiresAt revokedAt } }
}`;

export const REVOKE_TOKEN = `mutation Revoke($input: RevokeTokenInput!) {
  revokeToken(input: $input) { id status revokedAt }
}`;

export const VERIFY_TOKEN = `query Verify($token: String!, $requiredRoles: [String!]) {
  verifyToken(token: $token, requiredRoles: $requiredRoles) { valid code token { id status roles } }
}`;
