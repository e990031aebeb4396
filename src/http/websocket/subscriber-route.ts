import { SightlineError } from '../../errors.js';
import type { WebSocketBehavior } from 'uWebSockets.js';
import { CloseCode } from '../../hub/close-codes.js';
import { handshakeRefusal } from './handshake.js';
import { parseControlMessage } from './control-messages.js';
import type { Hub, HubSocket } from '../../hub/hub.js';
import { MAX_TOPICS_PER_SOCKET } from '../../hub/topics.js';
import { textOfFrame } from './text-frame.js';
import { acceptUpgrade, refuseUpgrade, sendUpgradeRefusal } from './upgrade.js';
import { transportLimits, type WebSocketLimits } from './transport-limits.js';

const errorFrame = (code: string, message: string) => JSON.stringify({ type: 'error', code, message });

/**
 * /v1/ws: clients subscribe and unsubscribe with JSON text frames and receive events as
 * JSON text frames (see control-messages.ts and topics.ts for the shapes).
 */
export function subscriberRoute(hub: Hub, limits: WebSocketLimits): WebSocketBehavior<unknown> {
  return {
    ...transportLimits(limits, limits.maxPayloadBytes),
    upgrade: (res, req, context) => {
      const refusal = handshakeRefusal((name) => req.getHeader(name));
      if (refusal !== undefined) return sendUpgradeRefusal(res, req, refusal);
      if (!hub.isAccepting) return refuseUpgrade(res, req, new SightlineError(503, 'shutting_down', 'server is shutting down'));
      acceptUpgrade(res, req, context, {});
    },
    open: (ws) => {
      hub.opened(ws as HubSocket);
    },
    message: (raw, data, isBinary) => {
      const ws = raw as HubSocket;
      if (data.byteLength > limits.maxPayloadBytes) {
        return hub.end(ws, CloseCode.messageTooBig, `message of ${data.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes}`);
      }
      if (isBinary) {
        hub.send(ws, errorFrame('binary_not_supported', 'this socket takes JSON text frames; send images to /v1/ws/predict/{model}'));
        return;
      }
      const text = textOfFrame(data);
      if (text === undefined) return hub.end(ws, CloseCode.invalidPayload, 'text frame is not valid UTF-8');
      const parsed = parseControlMessage(text);
      if (!parsed.ok) {
        hub.send(ws, errorFrame(parsed.error.code, parsed.error.message));
        return;
      }
      const message = parsed.message;
      if (message.type === 'ping') {
        hub.send(ws, '{"type":"pong"}');
      } else if (message.type === 'subscribe') {
        if (hub.subscribe(ws, message.topics) === 'too_many_topics') {
          hub.send(ws, errorFrame('too_many_topics', `at most ${MAX_TOPICS_PER_SOCKET} topics per connection`));
        } else {
          hub.send(ws, JSON.stringify({ type: 'subscribed', topics: message.topics }));
        }
      } else {
        for (const topic of message.topics) hub.unsubscribe(ws, topic);
        hub.send(ws, JSON.stringify({ type: 'unsubscribed', topics: message.topics }));
      }
    },
    close: (ws, code, reason) => hub.closed(ws as HubSocket, code, reason),
  };
}
