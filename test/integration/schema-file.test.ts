import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, type GraphQLField, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { printGatewaySchema } from '../../src/graphql/print-schema';

/** `name(arg: Type, ...): Type` of a root field, its arguments in the order given, so additive optional arguments do not break the contract. */
function signature(field: GraphQLField<unknown, unknown>, args: readonly string[]): string {
  const printed = args.map((name) => {
    const arg = field.args.find((candidate) => candidate.name === name);
    return arg ? `${name}: ${arg.type.toString()}` : `${name}: <missing>`;
  });
  return `${field.name}${printed.length > 0 ? `(${printed.join(', ')})` : ''}: ${field.type.toString()}`;
}

describe('schema/schema.graphql', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = buildSchema(await printGatewaySchema());
  });

  it('matches the schema the code builds (run `npm run schema` after changing the API)', async () => {
    const committed = readFileSync(join(__dirname, '../../schema/schema.graphql'), 'utf8');
    expect(committed).toBe(await printGatewaySchema());
  });

  it('keeps the contract names', () => {
    const mutations = schema.getMutationType()!.getFields();
    const queries = schema.getQueryType()!.getFields();
    expect(signature(mutations.issueToken, ['input'])).toBe('issueToken(input: IssueTokenInput!): IssuedToken!');
    expect(signature(mutations.revokeToken, ['input'])).toBe('revokeToken(input: RevokeTokenInput!): ApiToken!');
    expect(signature(queries.token, ['id'])).toBe('token(id: ID!): ApiToken');
    expect(signature(queries.verifyToken, ['requiredRoles', 'token'])).toBe('verifyToken(requiredRoles: [String!], token: String!): TokenVerification!');
    expect(signature(queries.viewer, [])).toBe('viewer: Principal!');
    expect(schema.getType('VerificationCode')).toBeDefined();
    // `secret` keeps its name; it became nullable for replays under an idempotency key.
    const issued = (schema.getType('IssuedToken') as GraphQLObjectType).getFields();
    expect(`${issued.token.type.toString()} ${issued.secret.type.toString()}`).toBe('ApiToken! String');
  });

  it('every mutation takes an optional idempotencyKey beside its arguments, and only that one is new', () => {
    const mutations = Object.values(schema.getMutationType()!.getFields());
    expect(mutations).toHaveLength(13);
    for (const mutation of mutations) {
      const key = mutation.args.find((arg) => arg.name === 'idempotencyKey');
      expect(`${mutation.name}: ${key?.type.toString()}`).toBe(`${mutation.name}: String`);
    }
  });
});
