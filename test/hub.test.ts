import http from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { Hub } from '../dist/src/hub/hub.js';
import { subscriberRoute } from '../dist/src/http/websocket/subscriber-route.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';
import { FrameClient } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Client = FrameClient;

let server: Server;
let wsUrl: string;
const clients: Client[] = [];

async function client(path = '/v1/ws'): Promise<Client> {
  const c = await FrameClient.open(`${wsUrl}${path}`);
  clients.push(c);
  return c;
}

async function postDetections(body: unknown): Promise<string[]> {
  const res = await fetch(`${server.url}/v1/detections`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  const answer = (await res.json()) as { id?: string; ids?: string[] };
  return answer.ids ?? [answer.id!];
}

const detection = (cameraId: string, trackId: string, extra: Record<string, unknown> = {}) => ({
  cameraId,
  trackId,
  label: 'car',
  confidence: 0.75,
  detectedAt: 1_700_000_000_000,
  ...extra,
});

beforeAll(async () => {
  const repo = makeModelRepo({
    cls: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] } } },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_WS_MAX_BACKPRESSURE_BYTES: '2MiB' });
  wsUrl = server.url.replace('http://', 'ws://');
  await server.modelsLoaded;
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server?.close();
});

describe('subscriptions', () => {
  it('acknowledges subscribe and unsubscribe, and delivers stored detections as events', async () => {
    const c = await client();
    expect(await c.ask({ type: 'subscribe', topic: 'detections' })).toEqual({ type: 'subscribed', topics: ['detections'] });
    const [id] = await postDetections(detection('cam-sub', 'a', { box: [1, 2, 3, 4], meta: { lane: 2 } }));
    const event = await c.next();
    const stored = await (await fetch(`${server.url}/v1/detections/${id}`)).json();
    expect(event).toEqual({ type: 'event', topic: 'detections', event: 'detection.created', data: stored });
    expect(stored).toMatchObject({ id, cameraId: 'cam-sub', trackId: 'a', box: [1, 2, 3, 4], meta: { lane: 2 } });

    expect(await c.ask({ type: 'unsubscribe', topics: ['detections'] })).toEqual({ type: 'unsubscribed', topics: ['detections'] });
    // A second subscriber tells when the next event went out; the first must not get it.
    const witness = await client();
    await witness.ask({ type: 'subscribe', topic: 'detections' });
    await postDetections(detection('cam-sub', 'b'));
    expect((await witness.next()).data).toMatchObject({ trackId: 'b' });
    expect(await c.ask({ type: 'ping' })).toEqual({ type: 'pong' });
  });

  it('keeps topics apart: a camera topic gets only its camera', async () => {
    const a = await client();
    const b = await client();
    const all = await client();
    await a.ask({ type: 'subscribe', topic: 'detections/cam-a' });
    await b.ask({ type: 'subscribe', topic: 'detections/cam-b' });
    await all.ask({ type: 'subscribe', topics: ['detections', 'models'] });
    await postDetections({ detections: [detection('cam-a', '1'), detection('cam-a', '2')] });
    await postDetections(detection('cam-b', '3'));

    const first = await a.next();
    expect(first).toMatchObject({ type: 'event', topic: 'detections/cam-a', event: 'detection.created', data: { cameraId: 'cam-a', trackId: '1' } });
    expect((await a.next()).data).toMatchObject({ trackId: '2' });
    // TCP keeps each socket's order: b's first message is its own camera's event, so it never got cam-a's.
    expect(await b.next()).toMatchObject({ topic: 'detections/cam-b', data: { cameraId: 'cam-b', trackId: '3' } });
    const seen = [await all.next(), await all.next(), await all.next()].map((m) => (m.data as { trackId: string }).trackId);
    expect(seen).toEqual(['1', '2', '3']);
    expect(a.received).toHaveLength(3); // the ack and two events
  });

  it('publishes model state changes on "models"', async () => {
    const c = await client();
    await c.ask({ type: 'subscribe', topic: 'models' });
    expect((await fetch(`${server.url}/v1/models/cls/unload`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${server.url}/v1/models/cls/load`, { method: 'POST' })).status).toBe(200);
    const states = [];
    for (let i = 0; i < 4; i++) {
      const m = await c.next();
      expect(m).toMatchObject({ type: 'event', topic: 'models', event: 'model.state', data: { name: 'cls' } });
      states.push((m.data as { state: string }).state);
    }
    expect(states).toEqual(['unloading', 'unloaded', 'loading', 'ready']);
  });

  it('answers bad frames with an error naming the problem, and keeps the connection', async () => {
    const c = await client();
    expect(await c.ask('{not json')).toMatchObject({ type: 'error', code: 'bad_json' });
    expect(c.received.at(-1)?.message).toMatch(/^message is not valid JSON: /);
    expect(await c.ask({ type: 'subscribe', topic: 'weather' })).toEqual({
      type: 'error',
      code: 'unknown_topic',
      message: 'unknown topic "weather"; topics are detections, detections/<cameraId>, jobs, jobs/<id>, models, evaluations and evaluations/<id>',
    });
    expect(await c.ask({ type: 'subscribe', topics: ['models', 'jobs/42'] })).toEqual({
      type: 'error',
      code: 'unknown_topic',
      message: '"jobs/42": a job id is a UUID',
    });
    expect(await c.ask({ type: 'shout' })).toEqual({ type: 'error', code: 'bad_message', message: 'type must be "subscribe", "unsubscribe" or "ping"' });
    expect(await c.ask({ type: 'subscribe' })).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'subscribe needs "topic" (a string) or "topics" (1 to 64 strings)',
    });
    expect(await c.ask({ type: 'subscribe', topic: 'models', extra: 1 })).toEqual({ type: 'error', code: 'bad_message', message: 'unknown field "extra"' });
    expect(await c.ask([1, 2])).toEqual({ type: 'error', code: 'bad_message', message: 'expected a JSON object with "type"' });
    c.ws.send(Buffer.from([1, 2, 3]));
    expect(await c.next()).toEqual({
      type: 'error',
      code: 'binary_not_supported',
      message: 'this socket takes JSON text frames; send images to /v1/ws/predict/{model}',
    });
    // Nothing above subscribed anything: the failed multi-topic request was refused whole.
    expect(await c.ask({ type: 'unsubscribe', topic: 'models' })).toEqual({ type: 'unsubscribed', topics: ['models'] });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses a topic holding a lone UTF-16 surrogate, naming the field, and keeps the connection', async () => {
    const c = await client();
    // Written raw: "\ud800" in JSON is a lone surrogate once parsed; no UTF-8 frame could echo it back.
    expect(await c.ask('{"type":"subscribe","topic":"detections/\\ud800"}')).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'topic contains a lone UTF-16 surrogate (not a Unicode character)',
    });
    expect(await c.ask('{"type":"subscribe","topics":["models","detections/cam-\\udc00x"]}')).toEqual({
      type: 'error',
      code: 'bad_message',
      message: 'topics[1] contains a lone UTF-16 surrogate (not a Unicode character)',
    });
    // A surrogate pair is a character like any other.
    expect(await c.ask('{"type":"subscribe","topic":"detections/cam-\\ud83d\\ude97"}')).toEqual({ type: 'subscribed', topics: ['detections/cam-\u{1F697}'] });
    expect(await c.ask({ type: 'unsubscribe', topic: 'models' })).toEqual({ type: 'unsubscribed', topics: ['models'] });
  });

  it('limits topics per connection', async () => {
    const c = await client();
    const topics = Array.from({ length: 64 }, (_, i) => `detections/cam-${i}`);
    expect(await c.ask({ type: 'subscribe', topics })).toEqual({ type: 'subscribed', topics });
    expect(await c.ask({ type: 'subscribe', topic: 'models' })).toEqual({
      type: 'error',
      code: 'too_many_topics',
      message: 'at most 64 topics per connection',
    });
    expect(await c.ask({ type: 'subscribe', topic: 'detections/cam-3' })).toEqual({ type: 'subscribed', topics: ['detections/cam-3'] });
  });

  it('closes a connection that sends a frame over the size limit with 1009', async () => {
    const c = await client();
    const text = JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) });
    c.send(text);
    expect(await c.closed).toEqual({ code: 1009, reason: `message of ${text.length} bytes exceeds the limit of 65536` });
  });

  it('fails a connection whose text frame is not UTF-8, logs why, and keeps serving the others', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const own = await startTestServer({}, { logger });
    onTestFinished(() => own.close());
    const url = `${own.url.replace('http://', 'ws://')}/v1/ws`;
    const bystander = await FrameClient.open(url);
    const c = await FrameClient.open(url);
    c.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    // uWS checks every text frame itself and cuts the connection before the hub sees the frame,
    // without the 1007 close frame RFC 6455 recommends: the client can only report 1006.
    expect((await c.closed).code).toBe(1006);
    await expect
      .poll(() => lines.find((l) => l.msg === 'WebSocket connection failed by the transport'))
      .toMatchObject({ code: 1006, reason: 'Received invalid UTF-8' });
    expect(await bystander.ask({ type: 'ping' })).toEqual({ type: 'pong' });
    bystander.close();
  });

  it('closes with 1007 on a text frame that is not UTF-8 should one reach the hub', () => {
    const hub = new Hub({ maxBackpressureBytes: 1024, logger: server.logger });
    const route = subscriberRoute(hub, { maxPayloadBytes: 1024, idleTimeoutS: 60, maxBackpressureBytes: 1024 });
    const ended: unknown[] = [];
    const sent: unknown[] = [];
    const ws = { end: (code: number, reason: string) => ended.push([code, reason]), send: (text: string) => sent.push(text), getBufferedAmount: () => 0 };
    hub.opened(ws as never);
    // The close is checked as the handler returns, before anything it might still await.
    void route.message!(ws as never, new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]).buffer, false);
    expect(ended).toEqual([[1007, 'text frame is not valid UTF-8']]);
    // Not read with replacement characters and answered as bad JSON.
    expect(sent).toEqual([]);
  });

  it('answers a plain HTTP request on a WebSocket path with 426', async () => {
    const res = await fetch(`${server.url}/v1/ws`);
    expect(res.status).toBe(426);
    expect(res.headers.get('upgrade')).toBe('websocket');
    expect(await res.json()).toEqual({ error: { code: 'upgrade_required', message: 'this path speaks WebSocket; connect with a WebSocket client' } });
  });
});

/** A GET with exactly these headers, read as a plain HTTP answer (a 101 counts as status 101). */
function handshake(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${server.url}${path}`, { headers, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, body: undefined });
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
  });
}

describe('opening handshakes (RFC 6455 §4.2.1)', () => {
  const valid = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' };
  const without = (name: keyof typeof valid) => Object.fromEntries(Object.entries(valid).filter(([k]) => k !== name));
  const badKey = { code: 'bad_request', message: 'Sec-WebSocket-Key must be the base64 encoding of 16 bytes' };

  for (const path of ['/v1/ws', '/v1/ws/predict/cls']) {
    it(`${path}: switches protocols for a valid handshake only`, async () => {
      expect((await handshake(path, valid)).status).toBe(101);
    });

    it(`${path}: answers another Sec-WebSocket-Version with 426 naming version 13`, async () => {
      for (const headers of [{ ...valid, 'sec-websocket-version': '99' }, without('sec-websocket-version')]) {
        const res = await handshake(path, headers);
        expect(res.status).toBe(426);
        expect(res.headers['sec-websocket-version']).toBe('13');
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.body).toEqual({
          error: { code: 'upgrade_required', message: 'this server speaks WebSocket version 13 only; send "Sec-WebSocket-Version: 13"' },
        });
      }
    });

    it(`${path}: answers a missing or malformed Sec-WebSocket-Key with 400`, async () => {
      // uWS takes any 24-character key as a handshake; shorter and longer ones reach the HTTP routes.
      for (const key of [undefined, 'k'.repeat(4000), 'short', `${'!'.repeat(22)}==`, 'dGhlIHNhbXBsZSBub25jZQ']) {
        const res = await handshake(path, key === undefined ? without('sec-websocket-key') : { ...valid, 'sec-websocket-key': key });
        expect([key?.slice(0, 30), res.status]).toEqual([key?.slice(0, 30), 400]);
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.body).toEqual({ error: badKey });
      }
    });

    it(`${path}: answers a handshake without Connection: Upgrade with 400`, async () => {
      const res = await handshake(path, { ...valid, connection: 'keep-alive' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: { code: 'bad_request', message: 'a WebSocket handshake needs "Connection: Upgrade"' } });
    });

    it(`${path}: treats an Upgrade to another protocol as a plain request: 426 naming websocket`, async () => {
      for (const headers of [
        { ...valid, upgrade: 'h2c' },
        { ...without('sec-websocket-key'), upgrade: 'h2c' },
      ]) {
        const res = await handshake(path, headers);
        expect(res.status).toBe(426);
        expect(res.headers.upgrade).toBe('websocket');
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect(res.body).toEqual({ error: { code: 'upgrade_required', message: 'this path speaks WebSocket; connect with a WebSocket client' } });
      }
    });
  }
});

describe('slow consumers', () => {
  it('closes a client that stops reading with 4000 while the others keep receiving everything', async () => {
    const slow = await client();
    const fast = await client();
    await slow.ask({ type: 'subscribe', topic: 'detections/cam-flood' });
    await fast.ask({ type: 'subscribe', topic: 'detections/cam-flood' });
    // The slow client stops reading: the kernel buffers fill, then uWS queues for it.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = server.hub.counters().slowConsumersClosed;
    const meta = { blob: 'm'.repeat(60 * 1024) };
    let posted = 0;
    // 300 KB of events per request: far below the 2 MiB limit, so a client that reads keeps up
    // whatever its socket buffers; the one that does not passes it once the kernel's buffers
    // (a few MB on loopback) are full. At most 60 MB in all.
    for (let request = 0; request < 200 && server.hub.counters().slowConsumersClosed === before; request++) {
      const ids = await postDetections({ detections: Array.from({ length: 5 }, (_, i) => detection('cam-flood', `${request}-${i}`, { meta })) });
      posted += ids.length;
    }
    expect(server.hub.counters().slowConsumersClosed).toBe(before + 1);
    // Once the slow socket reads again it finds the close frame after what was queued before it.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.closed).toEqual({ code: 4000, reason: 'slow consumer: backpressure limit exceeded' });

    // The fast client got every event, in order, then keeps receiving.
    await postDetections(detection('cam-flood', 'after'));
    const tracks: string[] = [];
    for (let i = 0; i <= posted; i++) tracks.push(((await fast.next()).data as { trackId: string }).trackId);
    const expected = Array.from({ length: posted }, (_, k) => `${Math.floor(k / 5)}-${k % 5}`);
    expect(tracks).toEqual([...expected, 'after']);
    expect(fast.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('shutdown', () => {
  it('closes WebSockets with 1001 when the server stops', async () => {
    const own = await startTestServer();
    const c = await FrameClient.open(`${own.url.replace('http://', 'ws://')}/v1/ws`);
    await c.ask({ type: 'subscribe', topic: 'detections' });
    await own.close();
    expect(await c.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});
