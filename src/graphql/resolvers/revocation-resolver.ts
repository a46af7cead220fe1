import { Args, Resolver, Root, Subscription, type PubSub, type SubscribeResolverData } from 'type-graphql';
import type { RevocationNotice as Notice } from '../../app/revocations';
import { badInput } from '../../domain/errors';
import { formatPosition } from '../../eventstore/port';
import { channelsOf, SUBSCRIPTIONS_NEED_WEBSOCKET, type SubscriptionContext } from '../subscriptions/subscription-context';
import { RevocationKind, RevocationNotice, TokenRevokedArgs } from '../types/revocation-types';

export function toRevocationNotice(notice: Notice): RevocationNotice {
  return {
    tokenId: notice.tokenId,
    tenantId: notice.tenantId,
    kind: notice.kind as RevocationKind,
    reason: notice.reason,
    effectiveAt: notice.effectiveAt,
    actor: { type: notice.actor.type, id: notice.actor.id },
    eventId: notice.eventId,
    position: formatPosition(notice.position),
  };
}

/**
 * type-graphql insists on a PubSub once any subscription exists, even though every
 * subscription here brings its own `subscribe` (notices come from the event log, not from
 * in-process topics); this one refuses any use.
 */
export const NO_TOPICS: PubSub = {
  publish() {
    throw new Error('keyledger subscriptions do not use topics');
  },
  subscribe() {
    throw new Error('keyledger subscriptions do not use topics');
  },
};

@Resolver()
export class RevocationResolver {
  @Subscription(() => RevocationNotice, {
    description:
      "Notices of revoked and rotated credentials, from the event log: of the caller's tenant, or for keyledger:root of " +
      'the tenant named (every tenant when none is). Requires keyledger:tokens:read.',
    subscribe: ({ args, context }: SubscribeResolverData<unknown, TokenRevokedArgs, SubscriptionContext>) =>
      channelsOf(context).tokenRevoked(args),
  })
  tokenRevoked(@Root() notice: Notice | undefined, @Args(() => TokenRevokedArgs) _args: TokenRevokedArgs): RevocationNotice {
    // Executed as a query (over HTTP) there is no event to resolve.
    if (!notice) throw badInput(SUBSCRIPTIONS_NEED_WEBSOCKET);
    return toRevocationNotice(notice);
  }
}
