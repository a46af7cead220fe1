import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { KeyledgerError, type ErrorCode } from '../domain/errors';
import { translationOf } from '../error-table';

/** The codes clients may see in `extensions.code` (the public contract). */
export type PublicErrorCode = Exclude<ErrorCode, 'UNAVAILABLE'>;

export interface ErrorReporter {
  (error: unknown): void;
}

/** Graphql-js and Apollo codes for requests that are wrong in shape: all are the caller's input. */
const INPUT_ERROR_CODES = new Set([
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const MAX_MESSAGE_LENGTH = 300;

/**
 * Apollo's CSRF refusal names the headers that would pass only after 300 characters, past
 * the cut every input message gets: said shortly, with what to send first.
 */
const CSRF_BLOCKED = /^This operation has been blocked as a potential Cross-Site Request Forgery/;
const CSRF_MESSAGE =
  'Blocked as a possible cross-site request forgery: send the request as a POST with Content-Type: application/json, or add the header apollo-require-preflight: true (or x-apollo-operation-name)';

/** Skips a JSON string literal starting at `i` (graphql-js prints string values with JSON.stringify). */
function skipString(text: string, i: number): number {
  for (let j = i + 1; j < text.length; j++) {
    if (text[j] === '\\') j++;
    else if (text[j] === '"') return j + 1;
  }
  return text.length;
}

/** Skips one value as graphql-js's `inspect` prints it: a string, a `{...}`/`[...]` tree, or a bare word. */
function skipInspectedValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return skipString(text, i);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let j = i; j < text.length; ) {
      const char = text[j];
      if (char === '"') {
        j = skipString(text, j);
        continue;
      }
      if (char === '{' || char === '[') depth++;
      else if ((char === '}' || char === ']') && --depth === 0) return j + 1;
      j++;
    }
    return text.length;
  }
  const bare = /^[^\s;]*/.exec(text.slice(i));
  return i + (bare ? bare[0].length : 0);
}

/** What each scalar accepts, said instead of the refused value. */
const EXPECTED_FORMATS: Record<string, string> = {
  DateTime: 'an RFC 3339 date-time string such as "2030-01-31T12:00:00Z"',
  Int: 'an integer from -2147483648 to 2147483647',
  Float: 'a number',
  String: 'a string',
  Boolean: 'true or false',
  ID: 'a string or an integer',
};

function expectedFormat(scalar: string): string {
  const format = EXPECTED_FORMATS[scalar];
  return format ? `; expected ${format}` : '';
}

/**
 * Reasons graphql-js and the scalars give, reduced to text that cannot carry the value.
 * Anything not recognised becomes a generic sentence rather than being passed through.
 */
function safeReason(reason: string): string {
  const trimmed = reason.trim();
  const fixed = [
    /^Expected type "[\w!\[\]]+" to be an object\.$/,
    /^Expected non-nullable type "[\w!\[\]]+" not to be null\.$/,
    /^Field "\w{1,64}" of required type "[\w!\[\]]+" was not provided\.$/,
  ];
  if (fixed.some((pattern) => pattern.test(trimmed))) return trimmed;
  const undefinedField = /^Field "(\w{1,64})" is not defined by type "(\w+)"\./.exec(trimmed);
  if (undefinedField) return `Field "${undefinedField[1]}" is not defined by type "${undefinedField[2]}".`;
  const enumValue = /does not exist in "(\w+)" enum\.(?: Did you mean [^"]*(?:"\w+"[^"]*)*\?)?$/.exec(trimmed);
  if (enumValue) return `Value does not exist in "${enumValue[1]}" enum.`;
  // The words before the colon are graphql-js's template ("Int cannot represent non-integer value").
  const scalar = /^((?:Enum "\w+"|(\w+)) cannot represent [A-Za-z0-9 -]{1,80}?value)(?=: |\.|$)/.exec(trimmed);
  if (scalar) return `${scalar[1]}${expectedFormat(scalar[2] ?? '')}`;
  // A scalar whose own wording goes on to quote the value ("DateTime cannot represent an invalid date-time-string <v>").
  const quoting = /^(\w+) cannot represent /.exec(trimmed);
  if (quoting) return `${quoting[1]} cannot represent this value${expectedFormat(quoting[1])}`;
  const named = /^Value is not a valid (\w+)/.exec(trimmed);
  if (named) return `The value is not a valid ${named[1]}.`;
  return 'The value is not valid.';
}

/**
 * graphql-js echoes the offending value in input errors ("got invalid value <v>",
 * "cannot represent ...: <v>"). A value may be a secret or a megabyte, and may itself contain
 * "; " or quotes, so the message is rebuilt from its parts instead of being filtered:
 * the variable name, the path graphql-js computed, and a reason from a fixed set.
 */
export function redactInputMessage(message: string): string {
  if (CSRF_BLOCKED.test(message)) return CSRF_MESSAGE;
  const variable = /^Variable "\$(\w+)" got invalid value /.exec(message);
  let result: string;
  if (variable) {
    let rest = message.slice(skipInspectedValue(message, variable[0].length));
    const at = /^ at "([\w.[\]]{1,200})"/.exec(rest);
    if (at) rest = rest.slice(at[0].length);
    result = `Variable "$${variable[1]}" got invalid value${at ? ` at "${at[1]}"` : ''}`;
    if (rest.startsWith('; ')) result += `; ${safeReason(rest.slice(2))}`;
  } else if (/^Expected value of type "[\w!\[\]]+", found /.test(message)) {
    // A literal written into the query document: graphql-js quotes it after "found".
    const type = /^Expected value of type "([\w!\[\]]+)"/.exec(message)![1];
    const reason = message.indexOf('; ', message.indexOf(', found '));
    result = `Expected value of type "${type}"${reason >= 0 ? `; ${safeReason(message.slice(reason + 2))}` : expectedFormat(type.replace(/[!\[\]]/g, ''))}`;
  } else if (/^(?:Enum "\w+"|\w+) cannot represent /.test(message)) {
    // A scalar refusing a literal reports in its own words, which may quote the literal.
    result = safeReason(message);
  } else {
    // Other validation errors about literals written into the query document itself.
    result = message
      .replace(/((?:cannot represent|is not a valid)[^:;]*): [\s\S]*$/, '$1.')
      .replace(/found [\s\S]*$/, 'found an unexpected value.')
      .replace(/Value "(?:[^"\\]|\\.)*"( does not exist in "\w+" enum)[\s\S]*$/, 'Value$1.');
  }
  return result.length > MAX_MESSAGE_LENGTH ? `${result.slice(0, MAX_MESSAGE_LENGTH)}…` : result;
}

/**
 * graphql-js ends some validation messages with names from the schema ("Did you mean
 * "tokens"?"): enough to map a schema whose introspection is switched off.
 */
export function withoutSchemaSuggestions(message: string): string {
  return message.replace(/ ?Did you mean [\s\S]*$/, '');
}

export interface ErrorFormatOptions {
  /** Leave out graphql-js's suggestions of schema names (production: introspection is off there too). */
  hideSchemaSuggestions?: boolean;
}

/**
 * The one place where failures become client-visible errors: a code from the contract, a
 * safe message, no stack trace, whatever NODE_ENV says. Parse, validation and cost-limit
 * errors (Apollo's GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST) are the
 * caller's input: BAD_USER_INPUT.
 */
export function formatGraphQLError(report: ErrorReporter, options: ErrorFormatOptions = {}) {
  const inputMessage = (message: string) => redactInputMessage(options.hideSchemaSuggestions ? withoutSchemaSuggestions(message) : message);
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { locations: formatted.locations, path: formatted.path };
    if (original instanceof KeyledgerError) {
      const { graphql } = translationOf(original.code);
      const extensions = graphql.extensions === 'details' ? { ...original.details, code: graphql.code } : { code: graphql.code, ...graphql.extensions };
      return { ...base, message: original.message, extensions };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && INPUT_ERROR_CODES.has(code)) {
      return { ...base, message: inputMessage(formatted.message), extensions: { code: 'BAD_USER_INPUT' } };
    }
    if (original instanceof GraphQLError && !original.originalError && code === undefined) {
      // Errors graphql-js raises itself while validating or executing a well-formed request.
      return { ...base, message: inputMessage(formatted.message), extensions: { code: 'BAD_USER_INPUT' } };
    }
    report(original);
    return { ...base, message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
