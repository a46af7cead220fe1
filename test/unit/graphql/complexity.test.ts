import { parse, type GraphQLSchema } from 'graphql';
import { complexityRefusal, operationCost } from '../../../src/graphql/complexity';
import { withoutSchemaSuggestions } from '../../../src/graphql/errors';
import { buildGatewaySchema } from '../../../src/graphql/schema';

let schema: GraphQLSchema;

beforeAll(async () => {
  schema = await buildGatewaySchema(null);
});

function cost(query: string, variables: Record<string, unknown> = {}, operationName?: string): number | null {
  return operationCost(schema, { document: parse(query), variables, operationName });
}

describe('operationCost', () => {
  it('counts 1 per field', () => {
    expect(cost('{ viewer { id roles tenantId } }')).toBe(4);
  });

  it('multiplies a paged selection by first, from a literal or a variable', () => {
    // tokens: 1 + first × (edges 1 + node 1 + id 1 + name 1)
    expect(cost('{ tokens(first: 10) { edges { node { id name } } } }')).toBe(41);
    expect(cost('query ($n: Int) { tokens(first: $n) { edges { node { id name } } } }', { n: 100 })).toBe(401);
  });

  it('prices a missing first at the default page size, and an out-of-range one at the largest page', () => {
    expect(cost('{ auditLog { edges { node { id } } } }')).toBe(1 + 20 * 3);
    expect(cost('{ auditLog(first: 5000) { edges { node { id } } } }')).toBe(1 + 100 * 3);
    expect(cost('{ auditLog(first: -3) { edges { node { id } } } }')).toBe(1);
  });

  it('adds up aliases and every spread of a fragment', () => {
    expect(cost('{ a: tokens(first: 10) { totalCount } b: tokens(first: 10) { totalCount } }')).toBe(22);
    expect(cost('{ viewer { ...P ...P } } fragment P on Principal { id roles }')).toBe(5);
  });

  it('adds the extra costs of argon2 checks, signature checks, chain recomputation and mutations', () => {
    expect(cost('{ verifyToken(token: "x") { valid } }')).toBe(101);
    expect(cost('{ verifyPartnerAccessToken(token: "x", tenantId: "t", subTenantId: "s") { valid } }')).toBe(11);
    expect(cost('{ auditIntegrity { ok } }')).toBe(1001);
    expect(cost('mutation { revokeToken(input: { id: "x" }) { id } }')).toBe(101);
  });

  it('prices only the operation that runs', () => {
    const document = 'query Small { viewer { id } } query Big { tokens(first: 100) { totalCount } }';
    expect(cost(document, {}, 'Small')).toBe(2);
    expect(cost(document, {}, 'Big')).toBe(101);
  });

  it('leaves a request that will not run unpriced: no single operation, or variables that do not fit', () => {
    expect(cost('query A { viewer { id } } query B { viewer { id } }')).toBeNull();
    expect(cost('query ($n: Int) { tokens(first: $n) { totalCount } }', { n: 'many' })).toBeNull();
  });
});

describe('complexityRefusal', () => {
  it('refuses an operation over the limit with BAD_USER_INPUT, stating its cost and the limit', () => {
    const document = parse('{ tokens(first: 100) { edges { node { id name } } } }');
    expect(complexityRefusal(schema, { document }, 401)).toBeNull();
    const refused = complexityRefusal(schema, { document }, 400);
    expect(refused?.message).toBe('The operation costs 401, over the limit of 400: ask for fewer items (first), fields or aliases');
    expect(refused?.extensions).toEqual({ code: 'BAD_USER_INPUT', http: { status: 400 } });
  });

  it('refuses an operation that cannot be priced rather than letting it run unpriced', () => {
    const levels = ['fragment F0 on Principal { id }'];
    for (let i = 1; i <= 5; i++) levels.push(`fragment F${i} on Principal { ${Array.from({ length: 10 }, () => `...F${i - 1}`).join(' ')} }`);
    const refused = complexityRefusal(schema, { document: parse(`{ viewer { ...F5 } } ${levels.join(' ')}`) }, 1_000_000);
    expect(refused?.message).toBe('The operation cannot be run: Query exceeds the maximum allowed number of nodes.');
    expect(refused?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('withoutSchemaSuggestions', () => {
  it('drops graphql-js suggestions of schema names and keeps the rest of the message', () => {
    expect(withoutSchemaSuggestions('Cannot query field "tokenz" on type "Query". Did you mean "token" or "tokens"?')).toBe(
      'Cannot query field "tokenz" on type "Query".',
    );
    expect(withoutSchemaSuggestions('Unknown argument "frist" on field "Query.tokens". Did you mean "first"?')).toBe(
      'Unknown argument "frist" on field "Query.tokens".',
    );
    expect(withoutSchemaSuggestions('Unknown type "TokenFiltr".')).toBe('Unknown type "TokenFiltr".');
  });
});
