import { defaultFieldResolver, type GraphQLSchema } from 'graphql';
import type { MutationLimiter } from '../app/rate-limits';
import { KeyledgerError } from '../domain/errors';
import type { GraphQLContext } from './context';

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
