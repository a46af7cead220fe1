import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printGatewaySchema } from '../../src/graphql/print-schema';

describe('schema/schema.graphql', () => {
  it('matches the schema the code builds (run `npm run schema` after changing the API)', async () => {
    const committed = readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8');
    expect(committed).toBe(await printGatewaySchema());
  });

  it('keeps the contract names', async () => {
    const sdl = await printGatewaySchema();
    for (const name of [
      'issueToken(input: IssueTokenInput!): IssuedToken!',
      'revokeToken(input: RevokeTokenInput!): ApiToken!',
      'token(id: ID!): ApiToken',
      'verifyToken(requiredRoles: [String!], token: String!): TokenVerification!',
      'viewer: Principal!',
      'enum VerificationCode',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
