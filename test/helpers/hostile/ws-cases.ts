/**
 * WebSocket frames that break the protocols of /v1/ws and /v1/ws/predict/{model}. A frame that
 * cannot be honoured gets an error frame and the socket keeps serving; a frame over the size limit
 * closes the socket with 1009; invalid UTF-8 in a text frame fails the connection (RFC 6455 §8.1):
 * with 1007 where sightline sees it, or dropped without a close frame (1006) where uWebSockets.js's
 * own UTF-8 check gets there first, which §7.1.7 allows (README, WebSocket close codes).
 */
import WebSocket from 'ws';
import { frameText } from '../ws-client.js';
import { httpCase, type HostileCase, type Outcome } from './cases.js';
import type { HostileImage } from './images.js';
import type { Limits } from './limits.js';

type Frame = { data: Buffer | string; binary?: boolean };

interface WsOutcomeOptions {
  path: string;
  frames: Frame[];
  /** Frames expected back before judging (default 1). */
  answers?: number;
  /** A frame that proves the socket still serves, and the reply type it must get. */
  probe: { frame: Frame; replyType: string };
}

/** Opens a socket, sends the frames, and describes what came back: "frame:<code>+open", "close:<code>", "hang". */
function wsExchange(port: number, o: WsOutcomeOptions, timeoutMs = 5000): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${o.path}`);
    const received: Array<Record<string, unknown>> = [];
    let phase: 'answers' | 'probe' = 'answers';
    let settled = false;
    const done = (got: string, statuses: number[] = []) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve({ got, statuses, detail: JSON.stringify(received).slice(0, 300) });
    };
    const timer = setTimeout(() => done(phase === 'probe' ? `${describe()}+no-reply-to-probe` : 'hang'), timeoutMs);
    const describe = () => {
      // The distinct kinds of answer, sorted: answers to frames in flight arrive in any order.
      const codes = [
        ...new Set(received.slice(0, o.answers ?? 1).map((f) => (f.type === 'error' ? `frame:${String(f.code)}` : `frame:${String(f.type)}`))),
      ].sort();
      return codes.join(',');
    };
    ws.on('unexpected-response', (_req, res) =>
      done(`upgrade:${res.statusCode}${res.headers['x-request-id'] ? '' : ' without x-request-id'}`, [res.statusCode ?? 0]),
    );
    ws.on('error', () => done('error'));
    ws.on('close', (code) => done(phase === 'probe' ? `${describe()}+close:${code}` : `close:${code}`));
    ws.on('open', () => {
      for (const f of o.frames) ws.send(f.data, { binary: f.binary ?? Buffer.isBuffer(f.data) });
    });
    ws.on('message', (data) => {
      let frame: Record<string, unknown>;
      try {
        frame = JSON.parse(frameText(data)) as Record<string, unknown>;
      } catch {
        frame = { type: 'not-json' };
      }
      if (phase === 'answers') {
        received.push(frame);
        if (received.length >= (o.answers ?? 1)) {
          phase = 'probe';
          ws.send(o.probe.frame.data, { binary: o.probe.frame.binary ?? Buffer.isBuffer(o.probe.frame.data) });
        }
      } else if (frame.type === o.probe.replyType) done(`${describe()}+open`);
    });
  });
}

/** `big`: a valid image just under the file limit. */
export function wsCases(png: Buffer, big: Buffer, images: HostileImage[], limits: Limits): HostileCase[] {
  const cases: HostileCase[] = [];
  const ping = { frame: { data: '{"type":"ping"}' }, replyType: 'pong' };
  const image = { frame: { data: png, binary: true }, replyType: 'result' };
  const events = (what: string, frames: Frame[], expected: string, answers = 1) =>
    cases.push({
      family: 'websocket',
      name: `WS /v1/ws / websocket: ${what}`,
      expected,
      run: (port) => wsExchange(port, { path: '/v1/ws', frames, answers, probe: ping }),
    });
  const predict = (what: string, frames: Frame[], expected: string, answers = 1) =>
    cases.push({
      family: 'websocket',
      name: `WS /v1/ws/predict/cls / websocket: ${what}`,
      expected,
      run: (port) => wsExchange(port, { path: '/v1/ws/predict/cls', frames, answers, probe: image }),
    });
  const text = (data: string): Frame => ({ data, binary: false });
  const topics = (n: number) => Array.from({ length: n }, (_, i) => `detections/cam-${i}`);

  events('truncated JSON', [text('{"type":')], 'frame:bad_json+open');
  events('not JSON at all', [text('hello')], 'frame:bad_json+open');
  events('empty text frame', [text('')], 'frame:bad_json+open');
  for (const [what, body] of [
    ['null', 'null'],
    ['an array', '[]'],
    ['a number', '42'],
    ['no type', '{"topic":"jobs"}'],
    ['an unknown type', '{"type":"publish","topic":"jobs"}'],
    ['type in upper case', '{"type":"PING"}'],
    ['subscribe without a topic', '{"type":"subscribe"}'],
    ['topic and topics', '{"type":"subscribe","topic":"jobs","topics":["models"]}'],
    ['empty topics', '{"type":"subscribe","topics":[]}'],
    ['65 topics in one frame', JSON.stringify({ type: 'subscribe', topics: topics(65) })],
    ['an unknown field', '{"type":"ping","extra":1}'],
    ['a __proto__ type', '{"__proto__":{"type":"ping"}}'],
  ] as const)
    events(`control frame: ${what}`, [text(body)], 'frame:bad_message+open');
  // A topic that is not a string is both a bad message and no known topic: either code names it.
  for (const [what, body] of [
    ['a numeric topic', '{"type":"subscribe","topic":42}'],
    ['topics of numbers', '{"type":"subscribe","topics":[1,2]}'],
    ['5000 levels of nesting', `{"type":"subscribe","topic":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ] as const)
    events(`control frame: ${what}`, [text(body)], 'frame:bad_message+open | frame:unknown_topic+open');
  events('unknown topic', [text('{"type":"subscribe","topic":"secrets"}')], 'frame:unknown_topic+open');
  events('one unknown topic among known ones', [text('{"type":"subscribe","topics":["jobs","nope","models"]}')], 'frame:unknown_topic+open');
  events('topic with a trailing slash', [text('{"type":"subscribe","topic":"detections/"}')], 'frame:unknown_topic+open | frame:bad_message+open');
  events('topic with a lone surrogate', [text('{"type":"subscribe","topic":"detections/\\ud800"}')], 'frame:unknown_topic+open | frame:bad_message+open');
  events(
    '64 topics, then one more',
    [text(JSON.stringify({ type: 'subscribe', topics: topics(64) })), text('{"type":"subscribe","topic":"jobs"}')],
    'frame:subscribed,frame:too_many_topics+open',
    2,
  );
  events('a binary frame', [{ data: Buffer.from([0, 1, 2, 3, 255]), binary: true }], 'frame:binary_not_supported+open');
  events('a PNG as a binary frame', [{ data: png, binary: true }], 'frame:binary_not_supported+open');
  events(
    `a text frame over the limit (${limits.wsPayloadBytes + 1024} bytes)`,
    [text(`{"type":"ping","pad":"${'p'.repeat(limits.wsPayloadBytes + 1024)}"}`)],
    'close:1009',
  );
  events('a text frame ten times the limit', [text('x'.repeat(limits.wsPayloadBytes * 10))], 'close:1009 | close:1006');
  events('invalid UTF-8 in a text frame', [{ data: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), binary: false }], 'close:1007 | close:1006');
  events(
    '100 bad frames in a row',
    Array.from({ length: 100 }, () => text('{')),
    'frame:bad_json+open',
    100,
  );

  predict('binary garbage', [{ data: Buffer.from('not an image at all'), binary: true }], 'frame:unsupported_media_type+open');
  predict('an empty binary frame', [{ data: Buffer.alloc(0), binary: true }], 'frame:bad_request+open | frame:unsupported_media_type+open');
  for (const img of images.filter((i) => i.verdict !== 'ok' && i.bytes.length < limits.fileBytes)) {
    const code = { 400: 'bad_request', 413: 'payload_too_large', 415: 'unsupported_media_type', 422: 'undecodable_image' }[
      img.verdict as 400 | 413 | 415 | 422
    ];
    predict(`image frame: ${img.what}`, [{ data: img.bytes, binary: true }], `frame:${code}+open`);
  }
  predict('a text frame where an image is expected', [text('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk')], 'frame:bad_json+open');
  for (const [what, body] of [
    ['an id of 129 characters', JSON.stringify({ id: 'i'.repeat(129) })],
    ['an empty id', '{"id":""}'],
    ['an object id', '{"id":{}}'],
    ['a null id', '{"id":null}'],
    ['a boolean id', '{"id":true}'],
    ['no id', '{}'],
    ['an unknown field', '{"id":"a","priority":1}'],
    ['an array', '[1]'],
    ['a __proto__ id', '{"__proto__":{"id":"x"}}'],
  ] as const)
    predict(`header frame: ${what}`, [text(body)], 'frame:bad_message+open');
  predict('header frame: an id with a lone surrogate', [text('{"id":"\\ud800"}')], 'frame:bad_message+open');
  predict('a header frame over the limit', [text(JSON.stringify({ id: 'x', pad: 'p'.repeat(limits.wsPayloadBytes + 1024) }))], 'close:1009');
  predict(
    `an image frame over the file limit (${limits.fileBytes + 1024} bytes)`,
    [{ data: Buffer.concat([png, Buffer.alloc(limits.fileBytes + 1024 - png.length)]), binary: true }],
    'close:1009',
  );
  predict('an image frame four times the file limit', [{ data: Buffer.alloc(limits.fileBytes * 4), binary: true }], 'close:1009 | close:1006');
  predict(
    'invalid UTF-8 in a header frame',
    [{ data: Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), binary: false }],
    'close:1007 | close:1006',
  );
  predict(
    '100 garbage images at once',
    Array.from({ length: 100 }, () => ({ data: Buffer.from('garbage'), binary: true })),
    'frame:overloaded,frame:unsupported_media_type+open | frame:unsupported_media_type+open',
    100,
  );
  // Images in flight are bounded in bytes as well as in number: each is answered, some perhaps with overloaded.
  predict(
    `64 image frames of ${Math.round(big.length / 1024)} KiB at once`,
    Array.from({ length: 64 }, () => ({ data: big, binary: true })),
    'frame:result+open | frame:overloaded,frame:result+open | frame:overloaded+open',
    64,
  );

  cases.push({
    family: 'websocket',
    name: 'WS /v1/ws/predict/no-such-model / websocket: unknown model',
    expected: 'upgrade:404',
    run: (port) => wsExchange(port, { path: '/v1/ws/predict/no-such-model', frames: [], probe: image }),
  });
  cases.push({
    family: 'websocket',
    name: 'WS /v1/ws/predict/%zz / websocket: invalid escape in the model',
    expected: 'upgrade:400',
    run: (port) => wsExchange(port, { path: '/v1/ws/predict/%zz', frames: [], probe: image }),
  });
  // Handshakes that are not WebSocket handshakes.
  const upgrade = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
  for (const path of ['/v1/ws', '/v1/ws/predict/cls']) {
    const hs = (what: string, headers: Record<string, string>, expected: string) =>
      cases.push(httpCase('websocket', `handshake ${what}`, { method: 'GET', target: path, headers }, expected));
    hs('without Upgrade', {}, '426');
    hs('with Sec-WebSocket-Version 99', { ...upgrade, 'sec-websocket-version': '99' }, '426 | 400');
    hs('without Sec-WebSocket-Key', Object.fromEntries(Object.entries(upgrade).filter(([k]) => k !== 'sec-websocket-key')), '400');
    hs('with a Sec-WebSocket-Key of 4 KB', { ...upgrade, 'sec-websocket-key': 'k'.repeat(4000) }, '400');
    hs('with Upgrade: h2c', { ...upgrade, upgrade: 'h2c' }, '426 | 400');
    hs('with an unknown query parameter', {}, '426');
  }
  return cases;
}
