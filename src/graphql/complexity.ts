import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { getOperationAST, getVariableValues, GraphQLError, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
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
  return pricing(schema, request, maxComplexity).refusal;
}

/** The verdict on a request's cost, and the cost when it was priced. */
function pricing(schema: GraphQLSchema, request: PricedRequest, maxComplexity: number): { refusal: GraphQLError | null; cost: number | null } {
  let cost: number | null;
  try {
    cost = operationCost(schema, request);
  } catch (error) {
    // An operation that cannot be priced (too many fields once fragments are expanded, an argument
    // that does not coerce) is refused: letting it run unpriced would sidestep the limit.
    const reason = error instanceof GraphQLError ? error.message : 'its cost could not be computed';
    return { refusal: refusal(`The operation cannot be run: ${reason}`), cost: null };
  }
  if (cost === null || cost <= maxComplexity) return { refusal: null, cost };
  return { refusal: refusal(`The operation costs ${cost}, over the limit of ${maxComplexity}: ask for fewer items (first), fields or aliases`), cost };
}

/**
 * Whether the variables' values can change what a document costs: a variable inside a
 * directive (`@skip`, `@include`), or in the arguments of a field an estimator reads its
 * arguments for (a `first` page size, a complexity computed from arguments). Anywhere else a
 * variable's value is only passed to the resolver.
 */
function costDependsOnVariables(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let depends = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      // Where variables are declared, not used.
      VariableDefinition: () => false,
      Variable() {
        const field = typeInfo.getFieldDef();
        if (
          typeInfo.getDirective() !== null ||
          !field ||
          field.args.some((arg) => arg.name === 'first') ||
          typeof field.extensions?.complexity === 'function'
        ) {
          depends = true;
        }
      },
    }),
  );
  return depends;
}

/**
 * Refuses HTTP operations over the cost limit before they execute. A document whose cost the
 * variables cannot change is priced once: Apollo hands every request with the same text the
 * same parsed document, and an operation found within the limit stays within it. Refusals
 * and variable-dependent costs are priced on every request, as the variables must be checked.
 */
export class OperationCostLimit {
  private readonly documents = new WeakMap<DocumentNode, { costDependsOnVariables: boolean; allowedOperations: Set<string> }>();

  constructor(private readonly maxComplexity: number) {}

  /** Whether this operation of `document` has been priced within the limit whatever its variables. */
  admitsAnyVariables(document: DocumentNode, operationName: string | null | undefined): boolean {
    return this.documents.get(document)?.allowedOperations.has(operationName ?? '') ?? false;
  }

  plugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
    const { documents, maxComplexity } = this;
    return {
      async requestDidStart() {
        return {
          async didResolveOperation({ schema, document, request }) {
            const operationKey = request.operationName ?? '';
            let known = documents.get(document);
            if (known?.allowedOperations.has(operationKey)) return;
            const { refusal: refused, cost } = pricing(schema, { document, operationName: request.operationName, variables: request.variables }, maxComplexity);
            if (refused) throw refused;
            if (!known) documents.set(document, (known = { costDependsOnVariables: costDependsOnVariables(schema, document), allowedOperations: new Set() }));
            // Unpriced (variables that do not fit) is allowed too, but says nothing of the document's own cost.
            if (!known.costDependsOnVariables && cost !== null) known.allowedOperations.add(operationKey);
          },
        };
      },
    };
  }
}
