import type { RequestContext } from '../app/request-context';

/** Per-request GraphQL context: who is asking, and how to reach them in logs. */
export type GraphQLContext = RequestContext;
