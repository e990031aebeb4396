/**
 * Close codes the server sends on its WebSockets (documented in the README).
 * 1006 is never sent: clients see it when a connection drops without a close frame
 * (idle timeout expiry, network loss, a message far past the size limit, or a text frame that is
 * not UTF-8: uWS cuts each of these off itself).
 */
export const CloseCode = {
  /** The server is shutting down. */
  goingAway: 1001,
  /**
   * A text frame that is not UTF-8 (RFC 6455 §8.1). uWS checks every text frame itself and fails
   * the connection without a close frame before the hub sees it (clients see 1006); the hub sends
   * 1007 for any such frame that does reach it.
   */
  invalidPayload: 1007,
  /** A message exceeded the size limit of its route. */
  messageTooBig: 1009,
  /** The client read too slowly: more than the backpressure limit was queued for it. */
  slowConsumer: 4000,
} as const;
