import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { KeyledgerError, type ErrorCode } from '../domain/errors';

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
 * graphql-js echoes the offending value in coercion messages ("got invalid value <v>",
 * "cannot represent ...: <v>"). A value may be a secret or a megabyte, so it is cut out.
 */
export function redactInputMessage(message: string): string {
  const redacted = message
    .replace(/got invalid value [\s\S]*?(?=(?:; | at "|$))/, 'got invalid value')
    .replace(/((?:cannot represent|is not a valid|does not exist in)[^:;]*): [\s\S]*?(?=(?:; |\.?$))/g, '$1')
    .replace(/(Enum "[^"]+" cannot represent (?:non-string|non-enum) value)[\s\S]*/, '$1.')
    .replace(/(Value )"[\s\S]*?"( does not exist in "[^"]+" enum)/, '$1$2');
  return redacted.length > MAX_MESSAGE_LENGTH ? `${redacted.slice(0, MAX_MESSAGE_LENGTH)}…` : redacted;
}

/**
 * The one place where failures become client-visible errors: a code from the contract, a
 * safe message, no stack trace, whatever NODE_ENV says.
 */
export function formatGraphQLError(report: ErrorReporter) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const base = { locations: formatted.locations, path: formatted.path };
    if (original instanceof KeyledgerError) {
      if (original.code === 'UNAVAILABLE') {
        return { ...base, message: original.message, extensions: { code: 'INTERNAL_SERVER_ERROR', reason: 'UNAVAILABLE', retryable: true } };
      }
      return { ...base, message: original.message, extensions: { ...original.details, code: original.code } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && INPUT_ERROR_CODES.has(code)) {
      return { ...base, message: redactInputMessage(formatted.message), extensions: { code: 'BAD_USER_INPUT' } };
    }
    if (original instanceof GraphQLError && !original.originalError && code === undefined) {
      // Errors graphql-js raises itself while validating or executing a well-formed request.
      return { ...base, message: redactInputMessage(formatted.message), extensions: { code: 'BAD_USER_INPUT' } };
    }
    report(original);
    return { ...base, message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
