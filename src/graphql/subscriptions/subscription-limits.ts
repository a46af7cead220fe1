/** Limits of the WebSocket transport, beside the ones it shares with HTTP (`../limits`). */
export const SUBSCRIPTION_LIMITS = {
  /** Notices held for one subscription whose subscriber is not reading; past it the socket is closed (4008). */
  queueLength: 1000,
  /** Concurrent subscriptions on one connection. A resource server needs one. */
  subscriptionsPerConnection: 100,
  /** Subscribe messages one connection may send per window, answered RATE_LIMITED beyond. */
  subscribeMessages: 100,
  subscribeWindowSeconds: 10,
  /** How long shutdown waits for clients to answer the close handshake before cutting them off. */
  drainMs: 2000,
} as const;

export type SubscriptionLimits = { [K in keyof typeof SUBSCRIPTION_LIMITS]: number };
