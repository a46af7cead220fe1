import { randomBytes } from 'node:crypto';
import type { GraphQLResponse } from '../../helpers/graphql-client';
import type { TestGateway } from '../../helpers/gateway';

/** GraphQL documents and helpers shared by the token lifecycle suites (issue kinds, update, rotate, import). */

export const TOKEN_FIELDS = `id tenantId kind name roles status display code botName avatarUrl ownerId integrationId
  createdAt updatedAt rotatedAt expiresAt revokedAt lastUsedAt`;

export const ISSUE = `mutation Issue($input: IssueTokenInput!) { issueToken(input: $input) { secret token { ${TOKEN_FIELDS} } } }`;
export const UPDATE = `mutation Update($input: UpdateTokenInput!) { updateToken(input: $input) { ${TOKEN_FIELDS} } }`;
export const ROTATE = `mutation Rotate($input: RotateTokenInput!) { rotateToken(input: $input) { secret token { ${TOKEN_FIELDS} } } }`;
export const IMPORT = `mutation Import($input: ImportTokenInput!) { importToken(input: $input) { ${TOKEN_FIELDS} } }`;
export const REVOKE = `mutation Revoke($input: RevokeTokenInput!) { revokeToken(input: $input) { id status } }`;
export const TOKEN = `query Token($id: ID!) { token(id: $id) { ${TOKEN_FIELDS} } }`;
export const TOKENS = `query Tokens($first: Int, $after: String, $filter: TokenFilter) {
  tokens(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${TOKEN_FIELDS} } } }
}`;
export const VERIFY = `query Verify($token: String!, $requiredRoles: [String!]) {
  verifyToken(token: $token, requiredRoles: $requiredRoles) { valid code token { id status } }
}`;

/**
 * A tenant id unique to this run, so that suites also pass against a long-lived EventStoreDB
 * that holds earlier runs' events.
 */
export function uniqueTenant(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

export function expectNoStackTraces(response: GraphQLResponse): void {
  expect(response.raw).not.toMatch(/stacktrace|\bat [A-Za-z.<>]+ \(|\.ts:\d+|node_modules/);
}

/** Every event of a stream as raw JSON, to check what was written. */
export async function streamText(gw: TestGateway, streamId: string): Promise<string> {
  return JSON.stringify(await gw.gateway.store.readStream(streamId), withBigInts);
}

const withBigInts = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** Everything the log holds, as text: no secret may appear in it. */
export async function wholeLogText(gw: TestGateway): Promise<string> {
  const subscription = gw.gateway.store.subscribe({ fromPosition: null });
  const chunks: string[] = [];
  try {
    for await (const message of subscription) {
      if (message.type === 'events') chunks.push(JSON.stringify(message.events, withBigInts));
      if (message.type === 'caughtUp') break;
    }
  } finally {
    await subscription.close();
  }
  return chunks.join('\n');
}

export function expectNotWritten(text: string, secret: string): void {
  expect(text).not.toContain(secret);
  expect(text).not.toContain(Buffer.from(secret).toString('base64'));
  expect(text).not.toContain(Buffer.from(secret).toString('base64url'));
}
