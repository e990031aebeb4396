import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { predictAnswer } from '../dist/src/http/schemas/predict.js';
import type { ErrorAnswer, ModelListAnswer, ModelStatusAnswer } from './helpers/answers.js';
import { rgbPixels, type Rgb } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { failingModel, fixedDetector, linearClassifier } from './helpers/onnx-model.js';
import { writePipeline } from './helpers/pipeline-repo.js';
import { startTestServer } from './helpers/server.js';
import { frameText } from './helpers/ws-client.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Item = Record<string, unknown> & { box: number[]; points: number[][]; error?: { step: string; code: string; message: string } };
type StepTime = { startMs: number; ms: number; items?: number; queueMs?: number; inferMs?: number; meanBatchSize?: number };
type PipelineAnswer = {
  model: string;
  boxes: Item[];
  summary?: Record<string, unknown>;
  width: number;
  height: number;
  batchSize: number;
  latencyMs: { queueMs: number; inferMs: number; totalMs: number; steps: Record<string, StepTime> };
};

// The detector sees a 64 × 64 stretch of a 128 × 128 page, so its boxes (input pixels) double on the page.
const detector = fixedDetector({
  boxes: [
    { cx: 16, cy: 16, w: 16, h: 16, scores: [0.8, 0.05] },
    { cx: 48, cy: 16, w: 16, h: 16, scores: [0.05, 0.9] },
    { cx: 32, cy: 48, w: 24, h: 16, scores: [0.7, 0.05] },
  ],
});
const boxes = { a: [16, 16, 48, 48], b: [80, 16, 112, 48], c: [40, 80, 88, 112] } as const;
const paint = linearClassifier({ classes: 3 });
// Fails the run of any batch holding a pixel of 200 in some channel (200/255 after scaling).
const poison = failingModel({ magic: 200 / 255 });

/** White 128 × 128 with the three boxes filled with solid colours. */
function page(a: Rgb, b: Rgb, c: Rgb): Promise<Buffer> {
  const inside = (box: readonly number[], x: number, y: number) => x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
  const pixels = rgbPixels(128, 128, (x, y) => (inside(boxes.a, x, y) ? a : inside(boxes.b, x, y) ? b : inside(boxes.c, x, y) ? c : [255, 255, 255]));
  return sharp(pixels, { raw: { width: 128, height: 128, channels: 3 } })
    .png()
    .toBuffer();
}

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const quad = (b: readonly number[]) => [
  [b[0], b[1]],
  [b[2], b[1]],
  [b[2], b[3]],
  [b[0], b[3]],
];
const confidence = Math.E / (Math.E + 2);

const colourSteps = [
  { id: 'detect', op: 'predict', model: 'boxes' },
  { id: 'things', op: 'crop', from: 'detect', upright: false },
  { id: 'paint', op: 'map', model: 'paint', over: 'things' },
];
const colourOutput = {
  items: 'things',
  as: 'boxes',
  fields: { colour: 'paint.label', confidence: 'paint.confidence', detected: 'things.label', score: 'things.score' },
};
const rules = {
  tables: { price: { red: 10, green: 20, blue: 30 } },
  fields: { price: { op: 'lookup', table: 'price', key: 'colour' } },
  aggregates: { count: { op: 'count' }, total: { op: 'sum', field: 'price' } },
};

let server: Server;
let repo: string;

beforeAll(async () => {
  repo = makeModelRepo({
    boxes: {
      onnx: detector.bytes,
      manifest: { task: 'detect', input: { resize: 'stretch', width: 64, height: 64, colorOrder: 'RGB' }, head: { labels: ['thing', 'other'] } },
    },
    paint: {
      onnx: paint.bytes,
      manifest: {
        task: 'classify',
        input: plainInput,
        head: { labels: ['red', 'green', 'blue'], softmax: true },
        batching: { maxBatchSize: 8, maxQueueDelayMs: 20 },
      },
    },
    poison: { onnx: poison.bytes, manifest: { task: 'raw', input: plainInput, batching: { maxBatchSize: 4, maxQueueDelayMs: 50, waitWhenIdle: true } } },
  });
  writePipeline(repo, 'colours', {
    description: 'boxes, then the colour of each',
    steps: [...colourSteps, { id: 'costs', op: 'rules', rules }],
    output: colourOutput,
  });
  writePipeline(repo, 'checked', { steps: [...colourSteps, { id: 'check', op: 'map', model: 'poison', over: 'things' }], output: colourOutput });
  writePipeline(repo, 'lonely', { steps: [{ id: 'detect', op: 'predict', model: 'nope' }, ...colourSteps.slice(1)], output: colourOutput });
  writePipeline(repo, 'bad', { steps: [colourSteps[0], colourSteps[2], colourSteps[1]], output: colourOutput });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const predict = (model: string, body: Buffer) =>
  fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body, headers: { 'content-type': 'image/png' } });
const answer = async (model: string, body: Buffer) => {
  const res = await predict(model, body);
  expect(res.status).toBe(200);
  return (await res.json()) as PipelineAnswer;
};
const withoutTimes = (a: Record<string, unknown>) => ({ ...a, latencyMs: undefined, batchSize: undefined });

describe('pipelines of repository models', () => {
  it('crops what a detector found, runs a model on every crop and shapes the answer, in reading order with rules applied', async () => {
    const body = await answer('colours', await page(RED, GREEN, BLUE));
    expect(withoutTimes(body)).toEqual({
      model: 'colours',
      // The detector lists b first (best score); reading order puts a and b in one row, left to right.
      boxes: [
        {
          colour: 'red',
          confidence: expect.closeTo(confidence, 6),
          detected: 'thing',
          score: Math.fround(0.8),
          points: quad(boxes.a),
          box: boxes.a,
          price: 10,
        },
        {
          colour: 'green',
          confidence: expect.closeTo(confidence, 6),
          detected: 'other',
          score: Math.fround(0.9),
          points: quad(boxes.b),
          box: boxes.b,
          price: 20,
        },
        {
          colour: 'blue',
          confidence: expect.closeTo(confidence, 6),
          detected: 'thing',
          score: Math.fround(0.7),
          points: quad(boxes.c),
          box: boxes.c,
          price: 30,
        },
      ],
      summary: { count: 3, total: 60 },
      width: 128,
      height: 128,
      latencyMs: undefined,
      batchSize: undefined,
    });
    // Each step's time: the decode, the detector, the crops, the classifier over all three (one batch) and the rules.
    const steps = body.latencyMs.steps;
    expect(Object.keys(steps)).toEqual(['input', 'detect', 'things', 'paint', 'costs']);
    expect(steps.detect).toMatchObject({ meanBatchSize: 1 });
    expect(steps.things).toMatchObject({ items: 3 });
    expect(steps.paint).toMatchObject({ items: 3, meanBatchSize: 3 });
    for (const s of Object.values(steps)) expect(s.ms).toBeGreaterThanOrEqual(0);
    expect(steps.paint.startMs).toBeGreaterThanOrEqual(steps.things.startMs + steps.things.ms);
    expect(body.latencyMs.totalMs).toBeGreaterThanOrEqual(steps.paint.startMs + steps.paint.ms);
    // The answer fits the documented schema.
    expect(predictAnswer.safeParse(body).success).toBe(true);
  });

  it('marks only the crop a step failed for; the others keep their answers', async () => {
    const body = await answer('checked', await page(RED, GREEN, [200, 0, 0]));
    expect(body.boxes.map((b) => b.colour ?? b.error)).toEqual([
      'red',
      'green',
      { step: 'check', code: 'inference_failed', message: expect.stringMatching(/^model poison failed to run a batch: /) },
    ]);
    expect(body.boxes[2]).toEqual({ error: expect.anything(), points: quad(boxes.c), box: boxes.c });
    // The three crops went to the poisoned model as one batch, which was split to find the one that breaks it.
    const detail = (await (await fetch(`${server.url}/v1/models/poison`)).json()) as { statistics: { batchSizeHistogram: Record<string, number> } };
    expect(detail.statistics.batchSizeHistogram['3']).toBe(1);
  });

  it('lists pipelines with their steps and the state of each step model; one missing a model is not ready', async () => {
    const list = (await (await fetch(`${server.url}/v1/models`)).json()) as ModelListAnswer;
    const byName = Object.fromEntries(list.models.map((m) => [m.name, m]));
    expect(byName.colours).toEqual({
      name: 'colours',
      state: 'ready',
      version: 1,
      task: 'pipeline',
      description: 'boxes, then the colour of each',
      loadedAt: expect.any(String),
      steps: [
        { id: 'detect', op: 'predict', model: 'boxes', modelState: 'ready' },
        { id: 'things', op: 'crop' },
        { id: 'paint', op: 'map', model: 'paint', modelState: 'ready' },
        { id: 'costs', op: 'rules' },
      ],
    });
    expect(byName.lonely).toMatchObject({
      state: 'failed',
      error: 'step model nope is not in the repository',
      steps: [{ id: 'detect', model: 'nope', modelState: 'missing' }, {}, {}],
    });
    expect(byName.bad).toMatchObject({
      state: 'failed',
      error: `${repo}/bad/model.json: steps.1.over: step "things" comes later; a step may only use earlier ones`,
    });
    expect(await (await fetch(`${server.url}/v1/models/colours`)).json()).toEqual(byName.colours);

    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as ErrorAnswer).error.reasons).toEqual([
      `model bad failed to load: ${repo}/bad/model.json: steps.1.over: step "things" comes later; a step may only use earlier ones`,
      'pipeline lonely is not ready: step model nope is not in the repository',
    ]);
    const refused = await predict('lonely', await page(RED, GREEN, BLUE));
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as ErrorAnswer).error).toEqual({
      code: 'model_unavailable',
      message: 'pipeline lonely is not ready: step model nope is not in the repository',
    });
    expect((await predict('absent', await page(RED, GREEN, BLUE))).status).toBe(404);
  });

  it('stops serving while a step model is unloaded, and serves again once it is back', async () => {
    const unloaded = (await (await fetch(`${server.url}/v1/models/paint/unload`, { method: 'POST' })).json()) as ModelStatusAnswer;
    expect(unloaded.state).toBe('unloaded');
    const status = (await (await fetch(`${server.url}/v1/models/colours`)).json()) as ModelStatusAnswer;
    expect(status).toMatchObject({ state: 'failed', error: 'step model paint is unloaded' });
    const refused = await predict('colours', await page(RED, GREEN, BLUE));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    await fetch(`${server.url}/v1/models/paint/load`, { method: 'POST' });
    expect(((await (await fetch(`${server.url}/v1/models/colours`)).json()) as ModelStatusAnswer).state).toBe('ready');
    expect((await answer('colours', await page(BLUE, BLUE, RED))).boxes.map((b) => b.colour)).toEqual(['blue', 'blue', 'red']);
  });

  it('runs in async jobs, over WebSocket and for ?verify= with the same answer as predict', async () => {
    const image = await page(GREEN, RED, BLUE);
    const direct = withoutTimes(await answer('colours', image));

    const submitted = (await (
      await fetch(`${server.url}/v1/jobs?model=colours`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } })
    ).json()) as { id: string };
    let job: { status: string } = { status: 'queued' };
    for (let i = 0; i < 200 && job.status !== 'succeeded' && job.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 25));
      job = (await (await fetch(`${server.url}/v1/jobs/${submitted.id}`)).json()) as { status: string };
    }
    expect(job.status).toBe('succeeded');
    const result = (await (await fetch(`${server.url}/v1/jobs/${submitted.id}/result`)).json()) as PipelineAnswer;
    expect(withoutTimes(result)).toEqual(direct);
    expect(Object.keys(result.latencyMs.steps)).toEqual(['input', 'detect', 'things', 'paint', 'costs']);

    const ws = new WebSocket(`${server.url.replace('http://', 'ws://')}/v1/ws/predict/colours`);
    const frame = new Promise<{ type: string; id: string; result: PipelineAnswer }>((resolve) =>
      ws.once('message', (data) => resolve(JSON.parse(frameText(data)))),
    );
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ id: 'page-1' }));
    ws.send(image);
    const got = await frame;
    ws.close();
    expect(got).toMatchObject({ type: 'result', id: 'page-1' });
    expect(withoutTimes(got.result)).toEqual(direct);

    const detection = { cameraId: 'cam-1', trackId: 't-1', label: 'car', confidence: 0.5, detectedAt: Date.now(), image: image.toString('base64') };
    const stored = await fetch(`${server.url}/v1/detections?verify=colours`, {
      method: 'POST',
      body: JSON.stringify(detection),
      headers: { 'content-type': 'application/json' },
    });
    expect(stored.status).toBe(201);
    expect(withoutTimes(((await stored.json()) as { verify: PipelineAnswer }).verify)).toEqual(direct);
    expect(
      (
        await fetch(`${server.url}/v1/detections?verify=lonely`, {
          method: 'POST',
          body: JSON.stringify(detection),
          headers: { 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(503);
  });

  it('documents the pipeline answer and the steps in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    expect(doc.components.schemas.PipelineAnswer?.properties).toHaveProperty('latencyMs');
    expect(doc.components.schemas.ModelStatus?.properties).toHaveProperty('steps');
  });
});
