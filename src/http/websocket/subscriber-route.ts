import type { WebSocketBehavior } from 'uWebSockets.js';
import { CloseCode } from '../../hub/close-codes.js';
import type { Hub } from '../../hub/hub.js';
import { checkTopic, MAX_TOPICS_PER_SOCKET } from '../../hub/topics.js';
import { parseFrame } from './frame-parser.js';
import { subscriberClientFrame } from './frames.js';
import { textOfFrame } from './text-frame.js';
import { hubSocket } from './hub-socket.js';
import type { WebSocketLimits } from './transport-limits.js';

const errorFrame = (code: string, message: string) => JSON.stringify({ type: 'error', code, message });

/**
 * The topics of one frame in their canonical spelling (job ids lower-cased), each once. The frame
 * is checked whole: one unknown topic refuses all of them.
 */
function canonicalTopics(names: readonly string[]): { ok: true; topics: string[] } | { ok: false; message: string } {
  const topics: string[] = [];
  for (const name of names) {
    const check = checkTopic(name);
    if (!check.ok) return check;
    if (!topics.includes(check.topic)) topics.push(check.topic);
  }
  return { ok: true, topics };
}

/**
 * /v1/ws: clients subscribe and unsubscribe with JSON text frames and receive events as
 * JSON text frames (see frames.ts for the shapes and hub/topics.ts for the topics).
 */
export function subscriberRoute(hub: Hub, limits: WebSocketLimits): WebSocketBehavior<unknown> {
  return hubSocket(hub, limits, {
    message: (ws, data, isBinary) => {
      if (data.byteLength > limits.maxPayloadBytes) {
        return hub.end(ws, CloseCode.messageTooBig, `message of ${data.byteLength} bytes exceeds the limit of ${limits.maxPayloadBytes}`);
      }
      if (isBinary) {
        hub.send(ws, errorFrame('binary_not_supported', 'this socket takes JSON text frames; send images to /v1/ws/predict/{model}'));
        return;
      }
      const text = textOfFrame(data);
      if (text === undefined) return hub.end(ws, CloseCode.invalidPayload, 'text frame is not valid UTF-8');
      const parsed = parseFrame(subscriberClientFrame, text, 'message');
      if (!parsed.ok) {
        hub.send(ws, errorFrame(parsed.error.code, parsed.error.message));
        return;
      }
      const frame = parsed.value;
      if (frame.type === 'ping') {
        hub.send(ws, '{"type":"pong"}');
        return;
      }
      const named = canonicalTopics(frame.topics);
      if (!named.ok) {
        hub.send(ws, errorFrame('unknown_topic', named.message));
      } else if (frame.type === 'subscribe') {
        if (hub.subscribe(ws, named.topics) === 'too_many_topics') {
          hub.send(ws, errorFrame('too_many_topics', `at most ${MAX_TOPICS_PER_SOCKET} topics per connection`));
        } else {
          hub.send(ws, JSON.stringify({ type: 'subscribed', topics: named.topics }));
        }
      } else {
        for (const topic of named.topics) hub.unsubscribe(ws, topic);
        hub.send(ws, JSON.stringify({ type: 'unsubscribed', topics: named.topics }));
      }
    },
  });
}
