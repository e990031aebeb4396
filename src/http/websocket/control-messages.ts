import { checkTopic } from '../../hub/topics.js';

/** What a client may ask on /v1/ws (JSON text frames). */
export type ControlMessage =
  | { type: 'subscribe' | 'unsubscribe'; topics: string[] }
  | { type: 'ping' };

/** Why a frame was refused; sent back as `{"type":"error","code","message"}`. */
export interface ControlError {
  code: 'bad_json' | 'bad_message' | 'unknown_topic' | 'binary_not_supported';
  message: string;
}

const MAX_TOPICS_PER_MESSAGE = 64;

/** With the `u` flag a paired surrogate reads as one code point, so only lone ones match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Parses one text frame. Shapes: `{"type":"subscribe","topic":"detections"}`,
 * `{"type":"unsubscribe","topics":["jobs/<id>","models"]}`, `{"type":"ping"}`.
 * A message naming several topics is checked whole: one bad topic refuses all of them.
 */
export function parseControlMessage(text: string): { ok: true; message: ControlMessage } | { ok: false; error: ControlError } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: { code: 'bad_json', message: `message is not valid JSON: ${(err as Error).message}` } };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: { code: 'bad_message', message: 'expected a JSON object with "type"' } };
  }
  const { type, topic, topics, ...rest } = value as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) return { ok: false, error: { code: 'bad_message', message: `unknown field ${JSON.stringify(extra)}` } };
  if (type === 'ping') return { ok: true, message: { type: 'ping' } };
  if (type !== 'subscribe' && type !== 'unsubscribe') {
    return { ok: false, error: { code: 'bad_message', message: 'type must be "subscribe", "unsubscribe" or "ping"' } };
  }
  let names: unknown[];
  if (topic !== undefined && topics !== undefined) {
    return { ok: false, error: { code: 'bad_message', message: 'send either "topic" or "topics", not both' } };
  } else if (topic !== undefined) {
    names = [topic];
  } else if (Array.isArray(topics) && topics.length > 0 && topics.length <= MAX_TOPICS_PER_MESSAGE) {
    names = topics;
  } else {
    return {
      ok: false,
      error: { code: 'bad_message', message: `${type} needs "topic" (a string) or "topics" (1 to ${MAX_TOPICS_PER_MESSAGE} strings)` },
    };
  }
  const canonical: string[] = [];
  for (const [i, name] of names.entries()) {
    // JSON.parse turns "\ud800" into a string no UTF-8 frame can carry back: refuse it rather than
    // subscribe to a topic whose name every echo would alter.
    if (typeof name === 'string' && LONE_SURROGATE.test(name)) {
      const field = topic !== undefined ? 'topic' : `topics[${i}]`;
      return { ok: false, error: { code: 'bad_message', message: `${field} contains a lone UTF-16 surrogate (not a Unicode character)` } };
    }
    const check = checkTopic(name);
    if (!check.ok) return { ok: false, error: { code: 'unknown_topic', message: check.message } };
    if (!canonical.includes(check.topic)) canonical.push(check.topic);
  }
  return { ok: true, message: { type, topics: canonical } };
}
