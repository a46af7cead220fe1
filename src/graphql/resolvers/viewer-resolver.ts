import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context';
import { Principal } from '../types/token-types';

@Resolver()
export class ViewerResolver {
  @Query(() => Principal, { description: 'The authenticated caller' })
  async viewer(@Ctx() ctx: GraphQLContext): Promise<Principal> {
    const { id, tenantId, roles } = await ctx.principal();
    return { id, tenantId, roles };
  }
}
