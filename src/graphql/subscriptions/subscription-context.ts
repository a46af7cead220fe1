import type { RequestContext } from '../../app/request-context';
import type { NoticeStream, TokenRevokedRequest } from '../../app/revocations';
import { badInput } from '../../domain/errors';

/** What a subscription operation can open; bound to the WebSocket connection that asked. */
export interface SubscriptionChannels {
  tokenRevoked(request: TokenRevokedRequest): Promise<NoticeStream>;
}

/** The context of operations over WebSocket: a request context plus the connection's channels. */
export interface SubscriptionContext extends RequestContext {
  channels?: SubscriptionChannels;
}

export const SUBSCRIPTIONS_NEED_WEBSOCKET =
  'Subscriptions are served over WebSocket at /graphql with the graphql-transport-ws protocol (graphql-ws), not over HTTP';

export function channelsOf(context: SubscriptionContext): SubscriptionChannels {
  if (!context.channels) throw badInput(SUBSCRIPTIONS_NEED_WEBSOCKET);
  return context.channels;
}
