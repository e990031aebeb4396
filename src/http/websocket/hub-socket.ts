import type { WebSocketBehavior } from 'uWebSockets.js';
import { SightlineError } from '../../errors.js';
import type { Hub, HubSocket } from '../../hub/hub.js';
import type { HttpRequest, HttpResponse } from '../uws.js';
import { handshakeRefusal } from './handshake.js';
import { transportLimits, type WebSocketLimits } from './transport-limits.js';
import { acceptUpgrade, refuseUpgrade, sendUpgradeRefusal } from './upgrade.js';

/** Answers a handshake that is malformed, or that comes once the hub accepts no more sockets; true when it did. */
export function refusedByHub(hub: Hub, res: HttpResponse, req: HttpRequest): boolean {
  const refusal = handshakeRefusal((name) => req.getHeader(name));
  if (refusal !== undefined) sendUpgradeRefusal(res, req, refusal);
  else if (!hub.isAccepting) refuseUpgrade(res, req, new SightlineError(503, 'shutting_down', 'server is shutting down'));
  else return false;
  return true;
}

/** What a route adds to a socket the hub tracks: its frames, and what it keeps of the socket while open. */
export interface HubSocketHandlers {
  message: NonNullable<WebSocketBehavior<unknown>['message']>;
  opened?: (ws: HubSocket) => void;
  closed?: (ws: HubSocket) => void;
}

/**
 * A WebSocket route whose sockets carry no data of their own: the hub's handshake checks, and the
 * hub told of each open and close around the route's handlers (so it can drain and count them).
 */
export function hubSocket(hub: Hub, limits: WebSocketLimits, handlers: HubSocketHandlers): WebSocketBehavior<unknown> {
  return {
    ...transportLimits(limits, limits.maxPayloadBytes),
    upgrade: (res, req, context) => {
      if (!refusedByHub(hub, res, req)) acceptUpgrade(res, req, context, {});
    },
    open: (ws) => {
      hub.opened(ws);
      handlers.opened?.(ws);
    },
    message: handlers.message,
    close: (ws, code, reason) => {
      handlers.closed?.(ws);
      hub.closed(ws, code, reason);
    },
  };
}
