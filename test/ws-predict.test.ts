import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { encode, fromRaw, rgbPixels, solidImage } from './helpers/images.js';
import { linearClassifier } from './helpers/onnx-model.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { Hub } from '../dist/src/hub/hub.js';
import { predictRoute } from '../dist/src/http/websocket/predict-route.js';
import { startTestServer } from './helpers/server.js';
import { frameText } from './helpers/ws-client.js';
import type { ClassifyAnswer } from '../dist/src/heads/index.js';
import type { Answer } from './helpers/answers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Frame = { type: string; id?: string | number; code?: string; message?: string; result?: Record<string, unknown> };

const labels = ['red', 'green', 'blue'];
const e = Math.E;
let server: Server;
let wsBase: string;
const sockets: WebSocket[] = [];

/** Opens a predict socket and collects its text frames. */
async function open(model: string, base = wsBase): Promise<{ ws: WebSocket; frames: Frame[]; next(): Promise<Frame> }> {
  const ws = new WebSocket(`${base}/v1/ws/predict/${model}`);
  sockets.push(ws);
  const frames: Frame[] = [];
  let cursor = 0;
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    frames.push(JSON.parse(frameText(data)) as Frame);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    async next() {
      const deadline = Date.now() + 10_000;
      while (cursor >= frames.length) {
        if (Date.now() > deadline) throw new Error('no frame within 10 s');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 200);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return frames[cursor++];
    },
  };
}

beforeAll(async () => {
  const classifier = linearClassifier({ classes: 3 });
  const repo = makeModelRepo({
    cls: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels, softmax: true }, batching: { maxBatchSize: 8, maxQueueDelayMs: 30 } },
    },
    slow: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels }, batching: { maxBatchSize: 8, maxQueueDelayMs: 400, waitWhenIdle: true } },
    },
    wide: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels }, batching: { maxBatchSize: 64, maxQueueDelayMs: 300, waitWhenIdle: true } },
    },
    // Holds a lone image in its queue long enough for a test to look at what is in flight.
    held: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels }, batching: { maxBatchSize: 8, maxQueueDelayMs: 1500, waitWhenIdle: true } },
    },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo });
  wsBase = server.url.replace('http://', 'ws://');
  await server.modelsLoaded;
});

afterAll(async () => {
  for (const ws of sockets) ws.close();
  await server?.close();
});

const png = (rgb: [number, number, number]) => solidImage('png', 8, 8, rgb);

describe('predict over WebSocket', () => {
  it('answers each image frame with the request id of its header frame and the predict result', async () => {
    const s = await open('cls');
    s.ws.send(JSON.stringify({ id: 'r1' }));
    s.ws.send(await png([255, 0, 0]));
    const frame = await s.next();
    expect(frame.type).toBe('result');
    expect(frame.id).toBe('r1');
    const result = frame.result!;
    expect(result.model).toBe('cls');
    expect(result.label).toBe('red');
    expect(result.confidence as number).toBeCloseTo(e / (e + 2), 6);
    expect(result).toMatchObject({ width: 8, height: 8, batchSize: 1 });
    expect((result.latencyMs as { totalMs: number }).totalMs).toBeGreaterThan(0);
    // The same answer as the HTTP route, apart from timings.
    const http = (await (
      await fetch(`${server.url}/v1/models/cls/predict`, { method: 'POST', body: await png([255, 0, 0]), headers: { 'content-type': 'image/png' } })
    ).json()) as Answer<ClassifyAnswer>;
    expect({ ...result, latencyMs: 0, batchSize: 0 }).toEqual({ ...http, latencyMs: 0, batchSize: 0 });
  });

  it('numbers images sent without a header, and batches frames that arrive together', async () => {
    const s = await open('cls');
    const images = await Promise.all([png([0, 255, 0]), png([0, 0, 255]), png([255, 0, 0])]);
    // Two sockets' frames share the model's batcher.
    const other = await open('cls');
    for (const img of images) s.ws.send(img);
    other.ws.send(JSON.stringify({ id: 7 }));
    other.ws.send(images[0]);
    const answers = [await s.next(), await s.next(), await s.next()].sort((a, b) => (a.id as number) - (b.id as number));
    expect(answers.map((f) => [f.id, f.result!.label])).toEqual([
      [1, 'green'],
      [2, 'blue'],
      [3, 'red'],
    ]);
    const mine = await other.next();
    expect([mine.id, mine.result!.label]).toEqual([7, 'green']);
    expect(Math.max(...[...answers, mine].map((f) => f.result!.batchSize as number))).toBeGreaterThan(1);
  });

  it('answers a bad image with an error frame carrying its id, and bad headers with clear errors', async () => {
    const s = await open('cls');
    s.ws.send(JSON.stringify({ id: 'junk' }));
    s.ws.send(Buffer.from('not an image at all'));
    expect(await s.next()).toEqual({
      type: 'error',
      id: 'junk',
      code: 'unsupported_media_type',
      message: 'not a recognised image; supported formats: jpeg, png, webp, gif, tiff, avif',
    });
    s.ws.send('{"id":');
    const bad = await s.next();
    expect(bad.type).toBe('error');
    expect(bad.code).toBe('bad_json');
    expect(bad.message).toMatch(/^header frame is not valid JSON: /);
    s.ws.send(JSON.stringify({ id: 'a', model: 'x' }));
    expect(await s.next()).toEqual({ type: 'error', code: 'bad_message', message: 'unknown header field "model"' });
    s.ws.send(JSON.stringify({ id: '' }));
    expect(await s.next()).toEqual({ type: 'error', code: 'bad_message', message: 'id must be a string of 1 to 128 characters or a number' });
    // Written raw: "\ud800" in JSON is a lone surrogate once parsed, an id no text frame can echo back.
    s.ws.send('{"id":"r-\\ud800"}');
    expect(await s.next()).toEqual({ type: 'error', code: 'bad_message', message: 'id contains a lone UTF-16 surrogate (not a Unicode character)' });
    s.ws.send(JSON.stringify({ id: 'first' }));
    s.ws.send(JSON.stringify({ id: 'second' }));
    expect(await s.next()).toEqual({
      type: 'error',
      id: 'first',
      code: 'bad_message',
      message: 'header frame was not followed by an image; its id is replaced by the next header',
    });
    s.ws.send(await png([0, 0, 255]));
    expect(await s.next()).toMatchObject({ type: 'result', id: 'second', result: { label: 'blue' } });
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('refuses more images in flight than the limit, per connection', async () => {
    const own = await startTestServer({ SIGHTLINE_MODELS_DIR: server.config.modelsDir, SIGHTLINE_MODELS: 'slow', SIGHTLINE_WS_MAX_IN_FLIGHT: '2' });
    onTestFinished(() => own.close());
    await own.modelsLoaded;
    const s = await open('slow', own.url.replace('http://', 'ws://'));
    const img = await png([255, 0, 0]);
    for (const id of ['a', 'b', 'c']) {
      s.ws.send(JSON.stringify({ id }));
      s.ws.send(img);
    }
    const frames = [await s.next(), await s.next(), await s.next()];
    expect(frames[0]).toEqual({ type: 'error', id: 'c', code: 'overloaded', message: 'at most 2 images in flight per connection; wait for answers' });
    // Answers carry their request's id; within one batch they may come in either order.
    const answers = frames.slice(1).map((f) => [f.id, f.result!.label, f.result!.batchSize]);
    expect(answers.sort((x, y) => String(x[0]).localeCompare(String(y[0])))).toEqual([
      ['a', 'red', 2],
      ['b', 'red', 2],
    ]);
  });

  it('holds many images in flight on one socket without warnings', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    onTestFinished(() => void process.off('warning', onWarning));
    // All twenty wait in one queue at once, each listening for the socket's end.
    const s = await open('wide');
    const img = await png([0, 0, 255]);
    for (let i = 0; i < 20; i++) s.ws.send(img);
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await s.next());
    expect(answers.map((f) => f.result?.label)).toEqual(Array(20).fill('blue'));
    expect(warnings).toEqual([]);
  });

  it('refuses the upgrade for an unknown model with the usual JSON error', async () => {
    const ws = new WebSocket(`${wsBase}/v1/ws/predict/nope`);
    const response = await new Promise<{ status: number; body: string; requestId: unknown }>((resolve) => {
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, requestId: res.headers['x-request-id'] }));
      });
    });
    expect(response.status).toBe(404);
    expect(response.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(response.body)).toEqual({ error: { code: 'not_found', message: 'model "nope" not found' } });
  });

  it('fails a connection whose header frame is not UTF-8; the transport does it before the route sees the frame', async () => {
    const s = await open('cls');
    const closed = new Promise<number>((resolve) => s.ws.on('close', (code) => resolve(code)));
    s.ws.send(Buffer.from('{"id":"\xc3\x28"}', 'latin1'), { binary: false });
    // uWS checks every text frame and cuts the connection without a close frame (see the hub's tests).
    expect(await closed).toBe(1006);
  });

  it('closes with 1007 on a header frame that is not UTF-8 should one reach the route', () => {
    const hub = new Hub({ maxBackpressureBytes: 1024, logger: server.logger });
    const limits = { maxPayloadBytes: 1024, idleTimeoutS: 60, maxBackpressureBytes: 1024 };
    const route = predictRoute({ hub, repo: server.models, logger: server.logger, limits, image: { maxInputBytes: 1024 } as never, maxInFlight: 4 });
    const ended: unknown[] = [];
    const sent: unknown[] = [];
    const ws = {
      end: (code: number, reason: string) => ended.push([code, reason]),
      send: (text: string) => sent.push(text),
      getBufferedAmount: () => 0,
      getUserData: () => ({ model: 'cls' }),
    };
    // The close is checked as the handler returns, before anything it might still await.
    void route.open!(ws as never);
    void route.message!(ws as never, new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]).buffer, false);
    expect(ended).toEqual([[1007, 'header frame is not valid UTF-8']]);
    expect(sent).toEqual([]);
    route.close!(ws as never, 1006, new ArrayBuffer(0));
  });

  it('closes with 1009 on an image over the file size limit', async () => {
    const own = await startTestServer({ SIGHTLINE_MODELS_DIR: server.config.modelsDir, SIGHTLINE_MODELS: 'cls', SIGHTLINE_MAX_FILE_BYTES: '64KiB' });
    try {
      await own.modelsLoaded;
      const ws = new WebSocket(`${own.url.replace('http://', 'ws://')}/v1/ws/predict/cls`);
      await new Promise((resolve) => ws.once('open', resolve));
      const closed = new Promise<[number, string]>((resolve) => ws.on('close', (code, reason) => resolve([code, reason.toString()])));
      ws.send(Buffer.alloc(100 * 1024));
      expect(await closed).toEqual([1009, 'image of 102400 bytes exceeds the limit of 65536']);
    } finally {
      await own.close();
    }
  });
});

/** A PNG that does not compress, so its frame is about as large as its pixels (~7 KB). */
function noisyPng(seed: number): Promise<Buffer> {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  return encode(
    fromRaw(
      rgbPixels(48, 48, () => [next(), next(), next()]),
      48,
      48,
    ),
    'png',
  );
}

describe('bytes in flight', () => {
  const byId = (frames: Frame[]) => [...frames].sort((a, b) => String(a.id).localeCompare(String(b.id)));

  /** A noisy image, and a server of the held model whose byte budget `setting` fits 2.5 of it. */
  async function budgetedServer(seed: number, setting: string) {
    const img = await noisyPng(seed);
    const budget = Math.floor(img.byteLength * 2.5);
    const own = await startTestServer({ SIGHTLINE_MODELS_DIR: server.config.modelsDir, SIGHTLINE_MODELS: 'held', [setting]: String(budget) });
    onTestFinished(() => own.close());
    await own.modelsLoaded;
    return { img, budget, own, wsBase: own.url.replace('http://', 'ws://') };
  }

  it("answers frames past a connection's budget with overloaded, keeps none of them, and frees the budget as answers go out", async () => {
    const { img, budget, own, wsBase } = await budgetedServer(1, 'SIGHTLINE_WS_MAX_IN_FLIGHT_BYTES');
    const s = await open('held', wsBase);
    for (const id of ['a', 'b', 'c', 'd']) {
      s.ws.send(JSON.stringify({ id }));
      s.ws.send(img);
    }
    const frames = byId([await s.next(), await s.next(), await s.next(), await s.next()]);
    const overloaded = (id: string) => ({
      type: 'error',
      id,
      code: 'overloaded',
      message: `at most ${budget} bytes of images in flight per connection; wait for answers`,
    });
    expect(frames.slice(2)).toEqual([overloaded('c'), overloaded('d')]);
    expect(frames.slice(0, 2).map((f) => [f.id, f.type])).toEqual([
      ['a', 'result'],
      ['b', 'result'],
    ]);
    await expect.poll(() => own.hub.counters().inFlightBytes).toBe(0);
    // The budget is whole again.
    s.ws.send(JSON.stringify({ id: 'e' }));
    s.ws.send(img);
    expect(await s.next()).toMatchObject({ type: 'result', id: 'e' });
    await expect.poll(() => own.hub.counters().inFlightBytes).toBe(0);
  });

  it('shares one budget across every connection of the server', async () => {
    const { img, budget: total, own, wsBase: base } = await budgetedServer(2, 'SIGHTLINE_WS_MAX_IN_FLIGHT_BYTES_TOTAL');
    const first = await open('held', base);
    const second = await open('held', base);
    for (const id of ['a', 'b']) {
      first.ws.send(JSON.stringify({ id }));
      first.ws.send(img);
    }
    // Both of the first socket's images wait in the model's queue.
    await expect.poll(() => own.hub.counters().inFlightBytes).toBe(2 * img.byteLength);
    second.ws.send(JSON.stringify({ id: 'c' }));
    second.ws.send(img);
    expect(await second.next()).toEqual({
      type: 'error',
      id: 'c',
      code: 'overloaded',
      message: `the server holds its limit of ${total} bytes of images in flight; retry once answers arrive`,
    });
    expect(byId([await first.next(), await first.next()]).map((f) => [f.id, f.type])).toEqual([
      ['a', 'result'],
      ['b', 'result'],
    ]);
    await expect.poll(() => own.hub.counters().inFlightBytes).toBe(0);
    second.ws.send(img);
    expect(await second.next()).toMatchObject({ type: 'result', id: 2 });
    // A socket that goes away with images in flight gives their bytes back.
    first.ws.send(img);
    await expect.poll(() => own.hub.counters().inFlightBytes).toBe(img.byteLength);
    first.ws.terminate();
    await expect.poll(() => own.hub.counters().inFlightBytes).toBe(0);
  });

  it('lets a frame alone through whatever the budget, and nothing past it beside others', () => {
    const hub = new Hub({ maxBackpressureBytes: 1024, maxInFlightBytes: 100, logger: server.logger });
    expect([hub.reserveBytes(150), hub.reserveBytes(1)]).toEqual([true, false]);
    hub.releaseBytes(150);
    expect([hub.reserveBytes(60), hub.reserveBytes(40), hub.reserveBytes(1)]).toEqual([true, true, false]);
    expect(hub.counters().inFlightBytes).toBe(100);
  });

  it('has budgets of 64 MiB per connection and 256 MiB per server by default', () => {
    expect([server.config.wsMaxInFlightBytes, server.config.wsMaxInFlightBytesTotal]).toEqual([64 * 1024 * 1024, 256 * 1024 * 1024]);
  });
});
