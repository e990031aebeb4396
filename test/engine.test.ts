import { availableParallelism } from 'node:os';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedDetector, failingModel, linearClassifier } from './helpers/onnx-model.js';
import { craftedPngHeader, solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput, writeModel } from './helpers/model-repo.js';
import { startTestServer } from './helpers/server.js';
import type { ClassifyAnswer, DetectAnswer, RawAnswer } from '../dist/src/heads/index.js';
import type { Answer, BatchOf, ErrorAnswer, FailedItem, ModelDetailAnswer, ModelListAnswer, ModelStatusAnswer, ServingModelAnswer } from './helpers/answers.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;

const classifier = linearClassifier({ classes: 3 });
const detector = fixedDetector();
const failing = failingModel({ magic: 255 });
const labels = ['red', 'green', 'blue'];
const e = Math.E;

let repoDir: string;
let server: Server;
let base: string;
/** The server's warnings and errors, as JSON lines. */
const logged: string[] = [];

beforeAll(async () => {
  repoDir = makeModelRepo({
    cls: {
      onnx: classifier.bytes,
      manifest: { task: 'classify', input: plainInput, head: { labels, softmax: true }, batching: { maxBatchSize: 8, maxQueueDelayMs: 30 } },
    },
    nobatch: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, batching: { maxBatchSize: 1, maxQueueDelayMs: 0 } } },
    det: {
      onnx: detector.bytes,
      manifest: {
        task: 'detect',
        input: { resize: 'letterbox', width: 64, height: 64, colorOrder: 'RGB' },
        head: { labels: ['car', 'person'], iouThreshold: 0.5 },
      },
    },
    fail: { onnx: failing.bytes, manifest: { task: 'raw', input: { ...plainInput, scale: 1 }, batching: { maxBatchSize: 4, maxQueueDelayMs: 20 } } },
    tiny: {
      onnx: classifier.bytes,
      manifest: {
        task: 'classify',
        input: plainInput,
        head: { labels },
        batching: { maxBatchSize: 64, maxQueueDelayMs: 1000, waitWhenIdle: true, maxQueueSize: 2 },
      },
    },
    slowq: {
      onnx: classifier.bytes,
      manifest: {
        task: 'classify',
        input: plainInput,
        head: { labels },
        batching: { maxBatchSize: 64, maxQueueDelayMs: 2000, waitWhenIdle: true, queueTimeoutMs: 100 },
      },
    },
    gpu: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, device: 'cuda' } },
    gpustrict: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, device: 'cuda', strict: true } },
    broken: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, batching: { maxBatchSize: 0 } } },
    pinned: { onnx: classifier.bytes, manifest: { task: 'classify', input: plainInput, head: { labels }, instances: 1, intraOpThreads: 1 } },
  });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir }, { logger: pino({ level: 'warn' }, { write: (line: string) => logged.push(line) }) });
  base = server.url;
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const png = (rgb: [number, number, number], w = 8, h = 8) => solidImage('png', w, h, rgb);
const post = (model: string, body: NonNullable<RequestInit['body']>, type: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
const detail = async (model: string) => (await (await fetch(`${base}/v1/models/${model}`)).json()) as ServingModelAnswer;
const classified = async (res: Response) => (await res.json()) as Answer<ClassifyAnswer>;
const refusal = async (res: Response) => (await res.json()) as ErrorAnswer;

describe('model repository', () => {
  it('lists models with their state and reports failures without stopping the others', async () => {
    const body = (await (await fetch(`${base}/v1/models`)).json()) as ModelListAnswer;
    const states = Object.fromEntries(body.models.map((m) => [m.name, m.state]));
    expect(states).toEqual({
      broken: 'failed',
      cls: 'ready',
      det: 'ready',
      fail: 'ready',
      gpu: 'ready',
      gpustrict: 'failed',
      nobatch: 'ready',
      pinned: 'ready',
      slowq: 'ready',
      tiny: 'ready',
    });
    const broken = body.models.find((m) => m.name === 'broken');
    expect(broken?.error).toBe(`${repoDir}/broken/model.json: batching.maxBatchSize: Too small: expected number to be >=1`);
  });

  it('is not ready while a configured model failed, and says which', async () => {
    const res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(503);
    const body = await refusal(res);
    expect(body.error.code).toBe('not_ready');
    expect(body.error.reasons).toHaveLength(2);
    expect(body.error.reasons?.[0]).toMatch(/^model broken failed to load: /);
    expect(body.error.reasons?.[1]).toMatch(/^model gpustrict failed to load: CUDA execution provider unavailable/);
  });

  it('falls back from CUDA to CPU and reports why; strict refuses', async () => {
    const gpu = await detail('gpu');
    expect(gpu.device.requested).toBe('cuda');
    expect(gpu.device.actual).toBe('cpu');
    expect(gpu.device.fallbackReason).toMatch(/^CUDA execution provider unavailable: /);
    const res = await post('gpu', await png([255, 0, 0]), 'image/png');
    expect((await classified(res)).label).toBe('red');
    const strict = (await (await fetch(`${base}/v1/models/gpustrict`)).json()) as ModelDetailAnswer;
    expect(strict.state).toBe('failed');
    expect(strict.error).toMatch(/strict: true, so no CPU fallback/);
  });

  it('describes a model: spec, device, batching and counters', async () => {
    const cls = await detail('cls');
    expect(cls.state).toBe('ready');
    expect(cls.task).toBe('classify');
    expect(cls.inputs).toEqual(['input']);
    expect(cls.outputs).toEqual(['logits']);
    expect(cls.spec.batching).toEqual({
      maxBatchSize: 8,
      maxQueueDelayMs: 30,
      preferredBatchSizes: [],
      maxQueueSize: 1024,
      runTimeoutMs: 30_000,
      padToLargest: false,
    });
    expect(cls.device).toEqual({
      requested: 'cpu',
      actual: 'cpu',
      runtime: 'onnxruntime-cpu',
      intraOpThreads: cls.plan?.intraOpThreads,
      instances: cls.plan?.instances,
    });
    // An ONNX model on CPU with instances and threads open is measured at load.
    expect(cls.plan).toMatchObject({
      instances: expect.any(Number),
      intraOpThreads: expect.any(Number),
      chosenBy: 'calibration',
      reason: expect.stringMatching(/^measured on a synthetic 8×8 batch /),
    });
    expect(cls.plan?.calibration).toMatchObject({ source: 'measured', input: { width: 8, height: 8 }, batching: { batchSize: 8, decision: 'kept' } });
    expect(cls.spec.plan).toBeUndefined();
    expect(typeof cls.statistics.enqueued).toBe('number');
  });

  it('shows how instances and threads were chosen: as a manifest fixes them, each model within the cores, and their runs together too', async () => {
    const pinned = await detail('pinned');
    expect(pinned.plan).toEqual({ instances: 1, intraOpThreads: 1, chosenBy: 'manifest', reason: 'fixed by the manifest' });
    expect(pinned.device).toMatchObject({ instances: 1, intraOpThreads: 1 });
    const withinCores = async () => {
      const { models } = (await (await fetch(`${base}/v1/models`)).json()) as ModelListAnswer;
      const ready = models.filter((m) => m.state === 'ready');
      expect(ready.length).toBeGreaterThan(1);
      for (const m of ready) {
        const d = await detail(m.name);
        expect(d.plan).toBeDefined();
        const plan = d.plan!;
        expect(plan.instances * plan.intraOpThreads).toBe(d.device.instances * d.spec.intraOpThreads);
        // Each model may fill the cores alone; the run ledger keeps all of them together within the cores.
        expect(plan.instances * plan.intraOpThreads).toBeLessThanOrEqual(availableParallelism());
      }
    };
    await withinCores();
    // A reload is calibrated from the figures measured at start.
    expect((await fetch(`${base}/v1/models/det/load`, { method: 'POST' })).status).toBe(200);
    const det = await detail('det');
    expect(det.plan?.chosenBy).toBe('calibration');
    expect(det.plan?.calibration?.source).toBe('cache');
    await withinCores();
    expect(server.models.ledger.peakInUse).toBeLessThanOrEqual(availableParallelism());
  });

  it('answers 404 for unknown models', async () => {
    expect((await fetch(`${base}/v1/models/nope`)).status).toBe(404);
    const res = await post('nope', await png([1, 2, 3]), 'image/png');
    expect(res.status).toBe(404);
  });
});

describe('predict', () => {
  it('classifies with softmax probabilities and top-k (raw image body)', async () => {
    const res = await post('cls', await png([255, 0, 0]), 'image/png');
    expect(res.status).toBe(200);
    const body = await classified(res);
    // logits [1, 0, 0] → softmax [e, 1, 1] / (e + 2)
    expect(body.model).toBe('cls');
    expect(body.label).toBe('red');
    expect(body.confidence).toBeCloseTo(e / (e + 2), 6);
    expect(body.probabilities.green).toBeCloseTo(1 / (e + 2), 6);
    expect(body.topK.map((t) => t.label)).toEqual(['red', 'green', 'blue']);
    expect(body.width).toBe(8);
    expect(body.height).toBe(8);
    expect(body.latencyMs.totalMs).toBeGreaterThanOrEqual(body.latencyMs.inferMs);
    expect(body.latencyMs.queueMs).toBeGreaterThanOrEqual(0);
  });

  it('accepts JSON base64 and data URLs', async () => {
    const img = await png([0, 0, 255]);
    const a = await classified(await post('cls', JSON.stringify({ image: img.toString('base64') }), 'application/json'));
    expect(a.label).toBe('blue');
    const b = await classified(await post('cls', JSON.stringify({ image: `data:image/png;base64,${img.toString('base64')}` }), 'application/json'));
    expect(b.label).toBe('blue');
    const bad = await post('cls', JSON.stringify({ images: [img.toString('base64'), '@@@'] }), 'application/json');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { code: 'bad_request', message: 'images[1]: not valid base64', field: 'images[1]' } });
  });

  it('answers a multipart batch in input order, with an error entry for an undecodable image', async () => {
    const form = new FormData();
    form.append('file', new Blob([await png([0, 255, 0])], { type: 'image/png' }), 'g.png');
    form.append('file', new Blob([Buffer.from('not an image at all')], { type: 'image/png' }), 'x.png');
    form.append('file', new Blob([await png([255, 0, 0])], { type: 'image/png' }), 'r.png');
    const res = await fetch(`${base}/v1/models/cls/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = (await res.json()) as BatchOf<Answer<ClassifyAnswer> | FailedItem>;
    expect(body.results).toHaveLength(3);
    const [green, , red] = body.results as [Answer<ClassifyAnswer>, FailedItem, Answer<ClassifyAnswer>];
    expect(green.label).toBe('green');
    expect(body.results[1]).toEqual({
      index: 1,
      error: { code: 'unsupported_media_type', message: 'not a recognised image; supported formats: jpeg, png, webp, gif, tiff, avif' },
    });
    expect(red.label).toBe('red');
  });

  it('rejects non-images by content, not by name', async () => {
    const res = await post('cls', Buffer.from('GIF89a-but-not-really'), 'image/gif');
    expect([415, 422]).toContain(res.status);
    const text = await post('cls', Buffer.from('hello'), 'text/plain');
    expect(text.status).toBe(415);
  });

  it('refuses a decompression bomb with 413 before decoding it', async () => {
    const res = await post('cls', craftedPngHeader(30000, 30000), 'image/png');
    expect(res.status).toBe(413);
    expect((await refusal(res)).error.message).toBe('image is 30000×30000 (900000000 pixels); the limit is 40000000 pixels');
  });

  it('detects with class-wise NMS and maps letterboxed boxes back to the original image', async () => {
    // 128×64 → letterbox 64×64: scale 0.5, 16 px of padding top and bottom.
    const res = await post('det', await png([10, 10, 10], 128, 64), 'image/png');
    const body = (await res.json()) as Answer<DetectAnswer>;
    expect(body.detections.map((d) => d.label)).toEqual(['car', 'person', 'person']);
    const [a, b, c] = body.detections;
    expect(a?.score).toBeCloseTo(0.9, 6);
    expect(a?.box).toEqual([20, 0, 60, 28]);
    expect(b?.score).toBeCloseTo(0.7, 6);
    expect(b?.box).toEqual([22, 0, 62, 28]);
    expect(c?.score).toBeCloseTo(0.6, 6);
    expect(c?.box).toEqual([80, 52, 112, 64]);
  });
});

describe('dynamic batching', () => {
  it('runs concurrent requests as fewer, larger batches and keeps answers with their requests', async () => {
    const images = await Promise.all([png([255, 0, 0]), png([0, 255, 0]), png([0, 0, 255])]);
    const before = (await detail('cls')).statistics.dispatchedBatches;
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => post('cls', images[i % 3], 'image/png').then(classified)));
    expect(responses.map((r) => r.label)).toEqual(Array.from({ length: 8 }, (_, i) => labels[i % 3]));
    const after = (await detail('cls')).statistics;
    expect(after.dispatchedBatches - before).toBeLessThan(8);
    expect(Math.max(...responses.map((r) => r.batchSize))).toBeGreaterThan(1);
  });

  it('answers 503 with Retry-After when the queue is full', async () => {
    const img = await png([255, 0, 0]);
    const results = await Promise.all([post('tiny', img, 'image/png'), post('tiny', img, 'image/png'), post('tiny', img, 'image/png')]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503]);
    const rejected = results.find((r) => r.status === 503)!;
    expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await refusal(rejected)).error.code).toBe('overloaded');
  });

  it('answers 503 when a request waits past the queue timeout', async () => {
    const res = await post('slowq', await png([255, 0, 0]), 'image/png');
    expect(res.status).toBe(503);
    expect((await refusal(res)).error.code).toBe('overloaded');
  });

  it('drops a request from the queue when its client disconnects before dispatch', async () => {
    const loggedBefore = logged.length;
    const controller = new AbortController();
    const pending = post('tiny', await png([255, 0, 0]), 'image/png', {}).catch(() => 'aborted');
    void pending;
    const aborted = fetch(`${base}/v1/models/tiny/predict`, {
      method: 'POST',
      body: await png([0, 255, 0]),
      headers: { 'content-type': 'image/png' },
      signal: controller.signal,
    }).catch(() => 'aborted');
    const before = (await detail('tiny')).statistics.cancelled;
    for (let i = 0; i < 100; i++) {
      const s = (await detail('tiny')).statistics;
      if (s.queueLength === 2) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    controller.abort();
    expect(await aborted).toBe('aborted');
    let stats: ServingModelAnswer['statistics'] | undefined;
    for (let i = 0; i < 100; i++) {
      stats = (await detail('tiny')).statistics;
      if (stats.cancelled > before) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(stats?.cancelled).toBe(before + 1);
    expect(stats?.queueLength).toBe(1);
    expect(((await pending) as Response).status).toBe(200);
    // A client that leaves is not a server fault: nothing at warn or above.
    expect(logged.slice(loggedBefore)).toEqual([]);
  });
});

describe('failures and lifecycle', () => {
  it('fails only the batch that broke, with the model name, and keeps serving', async () => {
    const ok = await post('fail', await png([10, 20, 30]), 'image/png');
    expect(ok.status).toBe(200);
    const body = (await ok.json()) as Answer<RawAnswer>;
    expect(body.outputs.output.dims).toEqual([1, 3, 8, 8]);
    expect(body.outputs.output.data.slice(0, 2)).toEqual([10, 10]);
    const bad = await post('fail', await png([255, 255, 255]), 'image/png');
    expect(bad.status).toBe(500);
    const err = await refusal(bad);
    expect(err.error.code).toBe('inference_failed');
    expect(err.error.message).toMatch(/^model fail failed to run a batch: /);
    expect((await post('fail', await png([1, 2, 3]), 'image/png')).status).toBe(200);
  });

  it('replaces a worker that died and keeps serving', async () => {
    const version = server.models.serving('nobatch');
    await version.pool.threads[0].terminate();
    let res: Response | undefined;
    for (let i = 0; i < 20; i++) {
      res = await post('nobatch', await png([0, 255, 0]), 'image/png');
      if (res.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(res!.status).toBe(200);
    expect((await classified(res!)).label).toBe('green');
    expect((await detail('nobatch')).statistics.workerRestarts).toBe(1);
  });

  it('reloads under load without failing a request', async () => {
    const img = await png([0, 0, 255]);
    const before = (await detail('cls')).version;
    let stop = false;
    const statuses: number[] = [];
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) statuses.push((await post('cls', img, 'image/png')).status);
      }),
    );
    const first = await fetch(`${base}/v1/models/cls/load`, { method: 'POST' });
    expect(first.status).toBe(200);
    const second = await fetch(`${base}/v1/models/cls/load`, { method: 'POST' });
    expect(((await second.json()) as ModelStatusAnswer).version).toBe(before + 2);
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(4);
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  it('unloads and loads again', async () => {
    const unloaded = (await (await fetch(`${base}/v1/models/nobatch/unload`, { method: 'POST' })).json()) as ModelStatusAnswer;
    expect(unloaded.state).toBe('unloaded');
    const res = await post('nobatch', await png([1, 1, 1]), 'image/png');
    expect(res.status).toBe(503);
    expect((await refusal(res)).error.code).toBe('model_unavailable');
    const loaded = (await (await fetch(`${base}/v1/models/nobatch/load`, { method: 'POST' })).json()) as ModelStatusAnswer;
    expect(loaded.state).toBe('ready');
    expect((await post('nobatch', await png([255, 0, 0]), 'image/png')).status).toBe(200);
  });

  it('a failed reload keeps the running version and answers 409', async () => {
    writeModel(
      repoDir,
      'det',
      { task: 'detect', input: { resize: 'letterbox', width: 64, colorOrder: 'RGB' }, head: { labels: ['car', 'person'] } },
      detector.bytes,
    );
    const res = await fetch(`${base}/v1/models/det/load`, { method: 'POST' });
    expect(res.status).toBe(409);
    expect((await refusal(res)).error.message).toMatch(/input: resize "letterbox" needs width and height/);
    expect((await post('det', await png([10, 10, 10], 64, 64), 'image/png')).status).toBe(200);
  });
});
