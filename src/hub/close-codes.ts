/**
 * Close codes the server sends on its WebSockets (documented in the README).
 * 1006 is never sent: clients see it when a connection drops without a close frame
 * (idle timeout expiry, network loss, or a message far past the size limit).
 */
export const CloseCode = {
  /** The server is shutting down. */
  goingAway: 1001,
  /** A message exceeded the size limit of its route. */
  messageTooBig: 1009,
  /** The client read too slowly: more than the backpressure limit was queued for it. */
  slowConsumer: 4000,
} as const;
