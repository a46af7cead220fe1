import { buildSchema, Kind, parse, TypeInfo, validate, ValidationContext } from 'graphql';
import { depthLimitRule } from '../../../src/graphql/depth-limit';
import { byteLimit } from '../../../src/graphql/limits';

const schema = buildSchema(`
  type Node { id: ID! child: Node }
  type Query { node: Node }
`);

function nested(depth: number): string {
  let selection = 'id';
  for (let i = 1; i < depth; i++) selection = `child { ${selection} }`;
  return selection;
}

function errorsOf(query: string, maxDepth = 4): string[] {
  return validate(schema, parse(query), [depthLimitRule(maxDepth)]).map((error) => error.message);
}

describe('depthLimitRule', () => {
  it('accepts an operation at the limit and refuses one beyond it, naming both depths', () => {
    expect(errorsOf(`{ node { ${nested(3)} } }`)).toEqual([]);
    expect(errorsOf(`{ node { ${nested(4)} } }`)).toEqual(['The operation is nested 5 fields deep; at most 4 are allowed']);
  });

  it('follows fragments and inline fragments', () => {
    const query = `
      query { node { ...Deep } }
      fragment Deep on Node { child { ... on Node { child { ...Deeper } } } }
      fragment Deeper on Node { child { child { id } } }
    `;
    expect(errorsOf(query)).toEqual(['The operation is nested 6 fields deep; at most 4 are allowed']);
  });

  it('measures each fragment once, so a fan-out of spreads stays cheap', () => {
    const fanOut = (levels: number) => {
      const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Node { a: child { ...F${i + 1} } b: child { ...F${i + 1} } }`);
      return `{ node { ...F0 } } ${fragments.join(' ')} fragment F${levels} on Node { id }`;
    };

    // Each spread is followed twice, so measuring fragments afresh would read F12 2^12 times.
    const document = parse(fanOut(12));
    const reads = new Map<string, number>();
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
      const name = definition.name.value;
      const { selections } = definition.selectionSet;
      Object.defineProperty(definition.selectionSet, 'selections', {
        get: () => {
          reads.set(name, (reads.get(name) ?? 0) + 1);
          return selections;
        },
      });
    }
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION)!;
    const visitor = depthLimitRule(10)(new ValidationContext(schema, document, new TypeInfo(schema), () => undefined)) as {
      OperationDefinition: (node: typeof operation) => unknown;
    };
    visitor.OperationDefinition(operation);
    expect(Object.fromEntries(reads)).toEqual(Object.fromEntries(Array.from({ length: 13 }, (_, i) => [`F${i}`, 1])));

    const query = fanOut(30);
    expect(errorsOf(query, 100)).toEqual([]);
    expect(errorsOf(query, 10)).toEqual(['The operation is nested 32 fields deep; at most 10 are allowed']);
  });

  it('does not loop on fragment cycles (graphql-js reports those itself)', () => {
    const query = '{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }';
    expect(() => errorsOf(query)).not.toThrow();
  });

  it('does not count introspection fields', () => {
    expect(errorsOf('{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }', 2)).toEqual([]);
  });
});

describe('byteLimit', () => {
  it.each([
    ['256kb', 256 * 1024],
    ['1mb', 1024 * 1024],
    ['4096', 4096],
    ['10B', 10],
  ])('reads %s as %d bytes, as express does', (limit, bytes) => {
    expect(byteLimit(limit)).toBe(bytes);
  });
});
