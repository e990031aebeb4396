import type { WebSocketBehavior } from 'uWebSockets.js';

export interface WebSocketLimits {
  /** Largest frame accepted on /v1/ws; larger ones close the socket with 1009. */
  maxPayloadBytes: number;
  idleTimeoutS: number;
  /** Bytes queued for one client before it is closed as a slow consumer (4000). */
  maxBackpressureBytes: number;
}

/**
 * uWS's own limits sit above the ones the routes and the hub enforce, so they decide and can say why:
 * - a frame up to twice the limit reaches the route's message handler, which closes with 1009; only
 *   a frame beyond that is cut off by uWS itself (no close frame, clients see 1006);
 * - uWS would silently drop messages past its maxBackpressure; with headroom above any one
 *   message, the hub's check after each send closes the socket (4000) before that happens,
 *   and the close frame still fits.
 */
const BACKPRESSURE_HEADROOM = 64 * 1024 * 1024;

export function transportLimits(limits: WebSocketLimits, maxFrameBytes: number): Partial<WebSocketBehavior<unknown>> {
  return {
    maxPayloadLength: Math.min(2 * maxFrameBytes, 2 ** 31 - 1),
    idleTimeout: limits.idleTimeoutS,
    sendPingsAutomatically: true,
    maxBackpressure: limits.maxBackpressureBytes + BACKPRESSURE_HEADROOM,
    // Only reached if a single message outgrows the headroom: then uWS closes rather than drops.
    closeOnBackpressureLimit: 1,
  };
}
