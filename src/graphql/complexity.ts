import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { FIELD_COSTS } from './limits';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';

export interface PricedRequest {
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** A list field taking `first` resolves its selection once per item: the page size the resolver will use. */
const pageEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (!field.args.some((arg) => arg.name === 'first')) return undefined;
  const first: unknown = args.first;
  // Out-of-range sizes are refused by the resolver before any item is read; the cap prices them as the largest page.
  const items = typeof first === 'number' && Number.isInteger(first) ? Math.min(Math.max(first, 0), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
  return 1 + items * childComplexity;
};

/** Built once per schema, not on every priced request. */
const estimatorsBySchema = new WeakMap<GraphQLSchema, ComplexityEstimator[]>();

function estimatorsFor(schema: GraphQLSchema): ComplexityEstimator[] {
  let estimators = estimatorsBySchema.get(schema);
  if (estimators) return estimators;
  const mutationType = schema.getMutationType();
  const mutationEstimator: ComplexityEstimator = ({ type, childComplexity }) =>
    mutationType && type === mutationType ? FIELD_COSTS.mutation + childComplexity : undefined;
  // The first estimator that returns a number prices the field.
  estimators = [mutationEstimator, pageEstimator, fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })];
  estimatorsBySchema.set(schema, estimators);
  return estimators;
}

function refusal(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

/**
 * The cost of the operation a request runs: 1 per field, `first` times the selection of a
 * paged list (aliases add up, fragments count where they are spread), plus `FIELD_COSTS`.
 * Null when it cannot be priced because the request will not run: no single operation, or
 * variables that do not fit it (execution refuses those before any resolver, with a precise message).
 */
export function operationCost(schema: GraphQLSchema, request: PricedRequest): number | null {
  const operation = getOperationAST(request.document, request.operationName ?? undefined);
  if (!operation) return null;
  const variables = request.variables ?? {};
  if (getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors) return null;
  return getComplexity({
    schema,
    query: request.document,
    operationName: operation.name?.value,
    variables,
    estimators: estimatorsFor(schema),
  });
}

/** Why a request may not run for its cost, or null when it may. */
export function complexityRefusal(schema: GraphQLSchema, request: PricedRequest, maxComplexity: number): GraphQLError | null {
  let cost: number | null;
  try {
    cost = operationCost(schema, request);
  } catch (error) {
    // An operation that cannot be priced (too many fields once fragments are expanded, an argument
    // that does not coerce) is refused: letting it run unpriced would sidestep the limit.
    const reason = error instanceof GraphQLError ? error.message : 'its cost could not be computed';
    return refusal(`The operation cannot be run: ${reason}`);
  }
  if (cost === null || cost <= maxComplexity) return null;
  return refusal(`The operation costs ${cost}, over the limit of ${maxComplexity}: ask for fewer items (first), fields or aliases`);
}

/** Refuses HTTP operations over the cost limit before they execute (variables are only known per request). */
export function complexityLimitPlugin<TContext extends BaseContext>(maxComplexity: number): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request }) {
          const refused = complexityRefusal(schema, { document, operationName: request.operationName, variables: request.variables }, maxComplexity);
          if (refused) throw refused;
        },
      };
    },
  };
}
