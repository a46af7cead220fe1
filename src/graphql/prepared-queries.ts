import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  execute,
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { OperationCostLimit } from './complexity';

/** What a prepared query answers: the HTTP status and the JSON body, as Apollo would have written them. */
export interface PreparedAnswer {
  status: number;
  /** Headers the errors ask for (`extensions.http`), besides the content type and `Cache-Control`. */
  headers: Map<string, string>;
  body: string;
  /** The operation ran and answered errors (counted as an error by the metrics). */
  failed: boolean;
}

/** A query document Apollo has parsed, validated and priced, with the operations it may run without Apollo. */
interface PreparedDocument {
  schema: GraphQLSchema;
  document: DocumentNode;
  /**
   * By the operation name the request gave (undefined when it gave none or null; an empty
   * name is a name, which no operation has).
   */
  operations: Map<string | undefined, OperationDefinitionNode>;
}

/** A request found in the cache, ready to execute. */
export interface PreparedRequest {
  schema: GraphQLSchema;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string | undefined;
  variables: Record<string, unknown> | undefined;
}

export interface PreparedQueriesOptions {
  costLimit: OperationCostLimit;
  /** The ApolloServer's `formatError`, so that an error reads the same whichever way its request went. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /**
   * Entries the server's plugins add to a response's `extensions` once the operation has run
   * (`extensions.idempotency`), by the request's context; undefined adds none.
   */
  extensionsOf?(contextValue: unknown): Record<string, unknown> | undefined;
  /** Documents kept; the oldest is dropped first (it is learnt again from its next request). */
  maxDocuments?: number;
  /** Longer documents are always left to Apollo. */
  maxQueryLength?: number;
}

const DEFAULT_MAX_DOCUMENTS = 1000;
const DEFAULT_MAX_QUERY_LENGTH = 20_000;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Operations whose documents Apollo has already accepted, executed again without Apollo's request
 * pipeline. Apollo parses, validates and prices a document once and caches that work; what it
 * still does on every request (building a request context, calling each plugin's hooks, copying
 * headers into and out of its own maps, negotiating the response type) costs more than a
 * verification itself, and about a tenth of an issue. A request for a known operation skips that
 * and goes straight to graphql-js's `execute` with the cached document, the same schema,
 * resolvers and context, and is answered the way Apollo answers it: the same error formatting
 * (`formatError`, codes, statuses), the same headers (`Cache-Control: no-store`), the same
 * extensions (`extensionsOf`), the same JSON.
 *
 * Only what is known to behave identically takes this path: a query or mutation operation (never
 * a subscription) of a document Apollo accepted on an earlier request, whose cost the variables
 * cannot change and is within the limit, sent as a JSON POST without `extensions` (persisted
 * queries and the like stay with Apollo) and accepting `application/json`. Everything else, and
 * every first request of a document, goes through Apollo. What guards a mutation is unchanged:
 * the rate limits, roles and idempotency keys are checked by its resolvers, which run either way,
 * and a body only reaches here parsed as `application/json`, a type browsers preflight, which is
 * what Apollo's CSRF prevention asks of a request.
 */
export class PreparedQueries {
  private readonly documents = new Map<string, PreparedDocument>();
  private readonly maxDocuments: number;
  private readonly maxQueryLength: number;
  private stopped = false;

  constructor(private readonly options: PreparedQueriesOptions) {
    this.maxDocuments = options.maxDocuments ?? DEFAULT_MAX_DOCUMENTS;
    this.maxQueryLength = options.maxQueryLength ?? DEFAULT_MAX_QUERY_LENGTH;
  }

  /** Learns the documents of the queries Apollo answers; once Apollo drains, every request goes to it. */
  plugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
    return {
      serverWillStart: async () => ({
        drainServer: async () => {
          this.stopped = true;
          this.documents.clear();
        },
      }),
      requestDidStart: async ({ request }) => {
        if (this.stopped || request.http?.method !== 'POST' || request.extensions !== undefined) return;
        return {
          willSendResponse: async ({ source, document, operation, schema, request: { operationName } }) => {
            if (this.stopped || (operation?.operation !== 'query' && operation?.operation !== 'mutation') || !document || source.length > this.maxQueryLength) return;
            if (!this.options.costLimit.admitsAnyVariables(document, operationName)) return;
            this.learn(source, schema, document, operationName, operation);
          },
        };
      },
    };
  }

  private learn(source: string, schema: GraphQLSchema, document: DocumentNode, operationName: string | undefined, operation: OperationDefinitionNode): void {
    let known = this.documents.get(source);
    if (known && known.document !== document) known = undefined;
    if (!known) {
      if (this.documents.size >= this.maxDocuments) this.documents.delete(this.documents.keys().next().value as string);
      known = { schema, document, operations: new Map() };
      this.documents.set(source, known);
    }
    known.operations.set(operationName, operation);
  }

  /**
   * The prepared request for a parsed JSON body, or null when Apollo must answer it: an unknown
   * document or operation, a body Apollo would refuse or treat specially, a response type other
   * than `application/json`.
   */
  match(body: unknown, accept: string | undefined): PreparedRequest | null {
    if (this.stopped || !isRecord(body)) return null;
    if (accept !== undefined && accept !== '*/*' && accept !== 'application/json') return null;
    const { query, variables, operationName, extensions } = body;
    if (typeof query !== 'string' || (extensions !== undefined && extensions !== null)) return null;
    if (variables !== undefined && variables !== null && !isRecord(variables)) return null;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
    const known = this.documents.get(query);
    const operation = known?.operations.get(operationName ?? undefined);
    if (!known || !operation) return null;
    return {
      schema: known.schema,
      document: known.document,
      operation,
      operationName: operationName ?? undefined,
      variables: variables ?? undefined,
    };
  }

  /** Executes a prepared request with `contextValue` and writes its answer as Apollo would. */
  async run(request: PreparedRequest, contextValue: unknown): Promise<PreparedAnswer> {
    const result = await execute({
      schema: request.schema,
      document: request.document,
      contextValue,
      variableValues: request.variables,
      operationName: request.operationName,
    });
    return this.answer(result, this.options.extensionsOf?.(contextValue));
  }

  private answer(result: ExecutionResult, added: Record<string, unknown> | undefined): PreparedAnswer {
    let status: number | undefined;
    const headers = new Map<string, string>();
    let errors: GraphQLFormattedError[] | undefined;
    if (result.errors?.length) {
      errors = result.errors.map((error) => {
        const formatted = this.format(error);
        if (formatted.http?.status !== undefined) status = formatted.http.status;
        for (const [name, value] of formatted.http?.headers ?? []) headers.set(name, value);
        return formatted.error;
      });
      // Variables that do not fit the operation: nothing ran (Apollo's status400ForVariableCoercionErrors).
      if (result.data === undefined && status === undefined) status = 400;
    }
    const extensions = added ? { ...result.extensions, ...added } : result.extensions;
    const body = JSON.stringify({ errors, data: result.data, extensions }) + '\n';
    return { status: status ?? 200, headers, body, failed: errors !== undefined };
  }

  /**
   * Apollo's normalisation, then `formatError`: a variable that does not fit is BAD_USER_INPUT,
   * an error without a code is INTERNAL_SERVER_ERROR, a well-formed `extensions.http` sets the
   * status and headers and is not sent, and a failing `formatError` gives "Internal server error".
   */
  private format(error: GraphQLError): { error: GraphQLFormattedError; http?: HttpHead } {
    const userInput = error.extensions.code == null && isVariableCoercionError(error);
    const normalized = userInput
      ? new GraphQLError(error.message, { nodes: error.nodes, originalError: error.originalError ?? error, extensions: { ...error.extensions, code: 'BAD_USER_INPUT' } })
      : error;
    const extensions: Record<string, unknown> = { ...normalized.extensions, code: normalized.extensions.code ?? 'INTERNAL_SERVER_ERROR' };
    let http: HttpHead | undefined;
    if (isHttpHead(extensions.http)) {
      http = extensions.http;
      delete extensions.http;
    }
    try {
      return { error: this.options.formatError({ ...normalized.toJSON(), extensions }, normalized), http };
    } catch {
      return { error: { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }, http };
    }
  }
}

interface HttpHead {
  status?: number;
  headers?: Map<string, string>;
}

function isHttpHead(value: unknown): value is HttpHead {
  if (!isRecord(value)) return false;
  return (!('status' in value) || typeof value.status === 'number') && (!('headers' in value) || value.headers instanceof Map);
}

/** Apollo's test for a variable's value refused before execution. */
function isVariableCoercionError(error: GraphQLError): boolean {
  const node = error.nodes?.length === 1 ? error.nodes[0] : undefined;
  if (node?.kind !== Kind.VARIABLE_DEFINITION) return false;
  const name = node.variable.name.value;
  return [`Variable "$${name}" has invalid value`, `Variable "$${name}" got invalid value `, `Variable "$${name}" of required type `, `Variable "$${name}" of non-null type `].some(
    (prefix) => error.message.startsWith(prefix),
  );
}
