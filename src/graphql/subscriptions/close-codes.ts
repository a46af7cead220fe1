/**
 * WebSocket close codes keyledger uses, beside those graphql-ws sends itself (4400 bad
 * message, 4406 wrong subprotocol, 4408 no connection_init in time, 4409 duplicate
 * subscription id, 4429 repeated connection_init, 4500 internal error) and `ws`'s 1009 for a
 * message over the size limit.
 */
export const SubscriptionCloseCode = {
  /** The server is shutting down; reconnect (to another replica) and resume with afterPosition. */
  goingAway: 1001,
  /** The gateway is still starting, or could not check the credential just now; reconnect shortly. */
  tryAgainLater: 1013,
  /** No bearer credential, or not a valid one. graphql-ws clients do not retry this code. */
  unauthorized: 4401,
  /** The credential lacks the role, or was revoked or expired while connected. */
  forbidden: 4403,
  /** Too many failed attempts with this credential (the same code graphql-ws uses for repeated connection_init). */
  tooManyRequests: 4429,
  /** The subscriber stopped reading and fell too far behind; reconnect with afterPosition. */
  slowConsumer: 4008,
} as const;

const MAX_CLOSE_REASON_BYTES = 123;

/** A close reason within the WebSocket limit of 123 bytes of UTF-8. */
export function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = reason.slice(0, MAX_CLOSE_REASON_BYTES - 1);
  while (Buffer.byteLength(`${cut}…`) > MAX_CLOSE_REASON_BYTES) cut = cut.slice(0, -1);
  return `${cut}…`;
}
