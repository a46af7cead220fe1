import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import type { ExpensiveQueryLimiter, MutationLimiter } from '../app/rate-limits';
import { KeyledgerError } from '../domain/errors';
import type { GraphQLContext } from './context';
import { EXPENSIVE_QUERY } from './limits';

/**
 * Charges every root mutation field, before its resolver runs, to the client's address and,
 * when the request carries a valid credential, to that credential: an operation with three
 * (aliased) mutations costs three. Mutations that need no credential (the partner exchange)
 * cost the address only. Only the mutation fields are wrapped, so queries pay nothing.
 */
export function limitMutations(schema: GraphQLSchema, mutations: MutationLimiter): void {
  const mutationType = schema.getMutationType();
  if (!mutationType) return;
  for (const field of Object.values(mutationType.getFields())) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context: GraphQLContext, info) => {
      await mutations.chargeAddress(context.ip);
      const principal = await context.principal().catch((error: unknown) => {
        // The resolver answers for a missing or refused credential itself, if it needs one.
        if (error instanceof KeyledgerError && error.code === 'UNAUTHENTICATED') return null;
        throw error;
      });
      if (principal) await mutations.chargePrincipal(principal.id);
      return resolve(source, args, context, info);
    };
  }
}

/**
 * Charges every query field marked `EXPENSIVE_QUERY` to the caller's credential before its
 * resolver runs. A request without a valid credential is not charged here: those fields all
 * need one, and their resolvers refuse it before doing any work.
 */
export function limitExpensiveQueries(schema: GraphQLSchema, queries: ExpensiveQueryLimiter): void {
  const queryType = schema.getQueryType();
  if (!queryType) return;
  for (const field of Object.values(queryType.getFields())) {
    if (field.extensions?.[EXPENSIVE_QUERY] !== true) continue;
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = async (source, args, context: GraphQLContext, info) => {
      const principal = await context.principal().catch((error: unknown) => {
        if (error instanceof KeyledgerError && error.code === 'UNAUTHENTICATED') return null;
        throw error;
      });
      if (principal) await queries.chargePrincipal(principal.id);
      return resolve(source, args, context, info);
    };
  }
}
