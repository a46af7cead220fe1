import { buildSchema, graphql, type GraphQLScalarType } from 'graphql';
import { GraphQLDateTime } from 'graphql-scalars';
import { redactInputMessage } from '../../../src/graphql/errors';

const SECRET = 'sk_live_SECRET_VALUE_123';
const MAX_LENGTH = 301;

const schema = buildSchema(`
  enum Scope { READ WRITE }
  input ConnectionInput { name: String!, scope: Scope!, apiKey: String, limit: Int }
  scalar DateTime
  type Query {
    probe(input: ConnectionInput, count: Int, label: String, scope: Scope, labels: [String!], at: DateTime): String
  }
`);
// The gateway's DateTime scalar, so that the tests see the wording it really uses.
const dateTime = schema.getType('DateTime') as GraphQLScalarType;
Object.assign(dateTime, { parseLiteral: GraphQLDateTime.parseLiteral, parseValue: GraphQLDateTime.parseValue, serialize: GraphQLDateTime.serialize });

/** The messages graphql-js itself produces for a request, so the tests follow its real wording. */
async function messagesFor(source: string, variableValues: Record<string, unknown> = {}): Promise<string[]> {
  const result = await graphql({ schema, source, variableValues });
  expect(result.errors?.length).toBeGreaterThan(0);
  return result.errors!.map((error) => error.message);
}

const INPUT_QUERY = 'query ($input: ConnectionInput) { probe(input: $input) }';

interface Case {
  label: string;
  source: string;
  variables: Record<string, unknown>;
  offending: string;
  names: RegExp;
}

const cases: Case[] = [
  {
    label: 'a number for a String field',
    source: INPUT_QUERY,
    variables: { input: { name: 90210, scope: 'READ' } },
    offending: '90210',
    names: /Variable "\$input" got invalid value at "input\.name"; String cannot represent a non string value/,
  },
  {
    label: 'an unknown enum value',
    source: INPUT_QUERY,
    variables: { input: { name: 'n', scope: SECRET } },
    offending: SECRET,
    names: /Variable "\$input" got invalid value at "input\.scope"; Value +does not exist in "Scope" enum/,
  },
  {
    label: 'a 1 MB string where an Int is expected',
    source: 'query ($count: Int) { probe(count: $count) }',
    variables: { count: `${'A'.repeat(1_048_576)}` },
    offending: 'AAAAAAAA',
    names: /Variable "\$count" got invalid value; Int cannot represent non-integer value/,
  },
  {
    label: 'a 1 MB string in a nested Int field',
    source: INPUT_QUERY,
    variables: { input: { name: 'n', scope: 'READ', limit: 'B'.repeat(1_048_576) } },
    offending: 'BBBBBBBB',
    names: /Variable "\$input" got invalid value at "input\.limit"; Int cannot represent non-integer value/,
  },
  {
    label: 'an object for a String field',
    source: INPUT_QUERY,
    variables: { input: { name: 'n', scope: 'READ', apiKey: { nested: SECRET } } },
    offending: SECRET,
    names: /Variable "\$input" got invalid value at "input\.apiKey"; String cannot represent a non string value/,
  },
  {
    label: 'an object for a top-level String',
    source: 'query ($label: String) { probe(label: $label) }',
    variables: { label: { nested: SECRET } },
    offending: SECRET,
    names: /Variable "\$label" got invalid value; String cannot represent a non string value/,
  },
  {
    label: 'a secret-looking string for an Int',
    source: 'query ($count: Int) { probe(count: $count) }',
    variables: { count: SECRET },
    offending: SECRET,
    names: /Variable "\$count" got invalid value; Int cannot represent non-integer value/,
  },
  {
    label: 'a secret-looking string for a nested Int',
    source: INPUT_QUERY,
    variables: { input: { name: 'n', scope: 'READ', limit: SECRET } },
    offending: SECRET,
    names: /Variable "\$input" got invalid value at "input\.limit"; Int cannot represent non-integer value/,
  },
  {
    label: 'a number for an enum',
    source: 'query ($scope: Scope) { probe(scope: $scope) }',
    variables: { scope: 4242424242 },
    offending: '4242424242',
    names: /Variable "\$scope" got invalid value; Enum "Scope" cannot represent non-string value/,
  },
  {
    label: 'a secret-looking string for an enum',
    source: 'query ($scope: Scope) { probe(scope: $scope) }',
    variables: { scope: SECRET },
    offending: SECRET,
    names: /Variable "\$scope" got invalid value; Value +does not exist in "Scope" enum/,
  },
  {
    label: 'a too-large Int',
    source: 'query ($count: Int) { probe(count: $count) }',
    variables: { count: 98765432109 },
    offending: '98765432109',
    names: /Variable "\$count" got invalid value; Int cannot represent non 32-bit signed integer value/,
  },
  {
    label: 'an unknown field next to a secret in an input object',
    source: INPUT_QUERY,
    variables: { input: { name: 'n', scope: 'READ', apiKey: SECRET, extra: 1 } },
    offending: SECRET,
    names: /Variable "\$input" got invalid value; Field "extra" is not defined by type "ConnectionInput"/,
  },
  {
    label: 'a secret string inside a list of Strings',
    source: 'query ($labels: [String!]) { probe(labels: $labels) }',
    variables: { labels: ['ok', { key: SECRET }] },
    offending: SECRET,
    names: /Variable "\$labels" got invalid value at "labels\[1\]"; String cannot represent a non string value/,
  },
  {
    label: 'a secret string literal for an Int argument',
    source: `{ probe(count: "${SECRET}") }`,
    variables: {},
    offending: SECRET,
    names: /^Int cannot represent non-integer value/,
  },
  {
    label: 'an object literal for a String argument',
    source: `{ probe(label: { key: "${SECRET}" }) }`,
    variables: {},
    offending: SECRET,
    names: /^String cannot represent a non string value/,
  },
  {
    label: 'a token-shaped string literal for a DateTime argument',
    source: `{ probe(at: "klt_${SECRET}") }`,
    variables: {},
    offending: SECRET,
    names: /^DateTime cannot represent this value; expected an RFC 3339 date-time string such as "2030-01-31T12:00:00Z"$/,
  },
  {
    label: 'a token-shaped string variable for a DateTime',
    source: 'query ($at: DateTime) { probe(at: $at) }',
    variables: { at: `klt_${SECRET}` },
    offending: SECRET,
    names: /^Variable "\$at" got invalid value; DateTime cannot represent this value; expected an RFC 3339 date-time string/,
  },
  {
    label: 'a number literal for a DateTime argument',
    source: '{ probe(at: 4242424242) }',
    variables: {},
    offending: '4242424242',
    names: /^DateTime cannot represent this value; expected an RFC 3339/,
  },
  {
    label: 'a secret string literal for an Int argument, naming the expected format',
    source: `{ probe(count: "${SECRET}") }`,
    variables: {},
    offending: SECRET,
    names: /^Int cannot represent non-integer value; expected an integer from -2147483648 to 2147483647$/,
  },
  {
    label: 'a secret enum literal',
    source: `{ probe(scope: ${SECRET}) }`,
    variables: {},
    offending: SECRET,
    names: /^Value +does not exist in "Scope" enum/,
  },
];

describe('redactInputMessage on real graphql-js 16 messages', () => {
  it.each(cases)('$label: drops the value, keeps the path, stays short', async ({ source, variables, offending, names }) => {
    const messages = await messagesFor(source, variables);
    for (const message of messages) {
      // The raw message really contains the value; otherwise the case would prove nothing.
      expect(message).toContain(offending);
      const redacted = redactInputMessage(message);
      expect(redacted).not.toContain(offending);
      expect(redacted).toMatch(names);
      expect(redacted.length).toBeLessThanOrEqual(MAX_LENGTH);
    }
  });

  // Bug: the value is cut only up to its first "; ", which graphql-js does not escape, so
  // the rest of a secret (a chosen password, an imported API key) reaches the client.
  it.each([
    ['the offending value itself', 'query ($count: Int) { probe(count: $count) }', { count: 'pass; word-SECRET-tail' }],
    [
      'a valid sibling field of an offending input object',
      INPUT_QUERY,
      { input: { name: 'n', scope: 'READ', apiKey: 'pass; word-SECRET-tail', extra: 1 } },
    ],
  ])('cuts a secret containing "; " in %s as a whole', async (_label, source, variables) => {
    const [message] = await messagesFor(source, variables);
    expect(message).toContain('SECRET');
    const redacted = redactInputMessage(message);
    expect(redacted).not.toContain('SECRET');
    expect(redacted).toMatch(/^Variable "\$(count|input)" got invalid value/);
  });

  it('cuts a secret that contains \' at "\' as a whole', async () => {
    const [message] = await messagesFor('query ($count: Int) { probe(count: $count) }', { count: [`x at "y" ${SECRET}`] });
    const redacted = redactInputMessage(message);
    expect(redacted).not.toContain(SECRET);
    expect(redacted).toMatch(/Variable "\$count" got invalid value/);
  });
});

describe('redactInputMessage on other messages', () => {
  it('leaves a message that echoes no value unchanged', () => {
    const message = 'Cannot query field "secretz" on type "Query". Did you mean "secrets"?';
    expect(redactInputMessage(message)).toBe(message);
  });

  it('keeps a short message under the limit as it is', () => {
    expect(redactInputMessage('Variable "$id" of required type "ID!" was not provided.')).toBe(
      'Variable "$id" of required type "ID!" was not provided.',
    );
  });

  it('truncates anything longer than 300 characters with an ellipsis', () => {
    const long = `Unknown argument ${'x'.repeat(1000)}`;
    const redacted = redactInputMessage(long);
    expect(redacted).toHaveLength(MAX_LENGTH);
    expect(redacted.endsWith('…')).toBe(true);
    expect(redacted.startsWith('Unknown argument x')).toBe(true);
  });

  it('handles a multi-megabyte message in linear time', () => {
    const message = `Variable "$n" got invalid value "${'z'.repeat(4_000_000)}"; Int cannot represent non-integer value: "${'z'.repeat(4_000_000)}"`;
    const redacted = redactInputMessage(message);
    expect(redacted).toBe('Variable "$n" got invalid value; Int cannot represent non-integer value; expected an integer from -2147483648 to 2147483647');
  });
});
