import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRepository } from '../dist/src/engine/repository.js';
import type { ClassifyAnswer, MultiAnswer } from '../dist/src/heads/index.js';
import { predictAnswer } from '../dist/src/http/schemas/predict.js';
import type { ErrorAnswer, ServingModelAnswer } from './helpers/answers.js';
import { solidImage, type Rgb } from './helpers/images.js';
import { linearHeads } from './helpers/linear-heads-model.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { repoRoot, startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Box = [number, number, number, number];
type Answer = MultiAnswer & { model: string; width: number; height: number; batchSize: number };

const exampleDir = path.join(repoRoot, 'models', 'examples', 'damage-assessment');
const example = JSON.parse(readFileSync(path.join(exampleDir, 'model.json'), 'utf8')) as Record<string, unknown>;

const LABELS = ['minor', 'moderate', 'severe'] as const;
const COST = { minor: { min: 100, max: 500 }, moderate: { min: 300, max: 1200 }, severe: { min: 800, max: 2500 } };

/*
 * Under the example's normalisation ((p / 255 − 0.5) / 0.5) a pure colour has channel means of ±1, and
 * with dyadic weights every output value is exact in float32. Per colour (channel means R, G, B):
 *   boxes = [0.25, 0.25, 0.75, 0.75] + R·[−0.125, −0.125, 0.125, 0.125] + B·[0, 0.0625, 0, 0]  (fractions of 224)
 *   severity_logits = [1, 1, 1] + R·[0, 0.5, 1] + G·[0, 1, 0] + B·[1, 0.5, 0]
 * red → box [0.125, 0.0625, 0.875, 0.875], logits [0, 0, 2] (severe);
 * green → box [0.375, 0.3125, 0.625, 0.625], logits [0, 1, 0] (moderate);
 * blue → box [0.375, 0.4375, 0.625, 0.625], logits [2, 0, 0] (minor).
 */
const BOX_WEIGHTS = [
  [-0.125, -0.125, 0.125, 0.125],
  [0, 0, 0, 0],
  [0, 0.0625, 0, 0],
];
const BOX_BIAS = [0.25, 0.25, 0.75, 0.75];
const SEVERITY_WEIGHTS = [
  [0, 0.5, 1],
  [0, 1, 0],
  [1, 0.5, 0],
];
const model = linearHeads(
  [
    { name: 'boxes', weights: BOX_WEIGHTS, bias: BOX_BIAS },
    { name: 'severity_logits', weights: SEVERITY_WEIGHTS, bias: [1, 1, 1] },
  ],
  { inputShape: [3, 224, 224] },
);

const RED: Rgb = [255, 0, 0];
const GREEN: Rgb = [0, 255, 0];
const BLUE: Rgb = [0, 0, 255];
const meansOf = (c: Rgb) => c.map((v) => (v === 255 ? 1 : -1)) as unknown as [number, number, number];

/** The classify head's answer for these logits: softmax in double, as the head computes it, best first. */
function classifyAnswer(logits: number[], topK = 1): ClassifyAnswer {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  let sum = 0;
  for (const v of e) sum += v;
  const p = e.map((v) => v / sum);
  const order = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
  return {
    label: LABELS[order[0]],
    confidence: p[order[0]],
    probabilities: Object.fromEntries(LABELS.map((l, i) => [l, p[i]])),
    topK: order.slice(0, topK).map((i) => ({ label: LABELS[i], confidence: p[i] })),
  };
}

/** A box as fractions of the 224×224 input, in the pixels of an 896×448 photo (stretched: ×4 across, ×2 down). */
const inPhoto = ([x1, y1, x2, y2]: number[]): Box => [x1 * 896, y1 * 448, x2 * 896, y2 * 448];

async function predict(server: Server, name: string, image: Buffer): Promise<{ status: number; body: Answer & ErrorAnswer }> {
  const res = await fetch(`${server.url}/v1/models/${name}/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  return { status: res.status, body: (await res.json()) as Answer & ErrorAnswer };
}
const detail = async (server: Server, name: string) =>
  (await (await fetch(`${server.url}/v1/models/${name}`)).json()) as ServingModelAnswer & { error?: string };

/** The example manifest with the tiny model as its file, plus test entries of other shapes. */
function repository(entries: Record<string, { manifest: Record<string, unknown>; onnx: Uint8Array }>): string {
  const dir = makeModelRepo(entries);
  mkdirSync(path.join(dir, 'damage-assessment'));
  copyFileSync(path.join(exampleDir, 'model.json'), path.join(dir, 'damage-assessment', 'model.json'));
  writeFileSync(path.join(dir, 'damage-assessment', 'model.onnx'), model.bytes);
  return dir;
}

describe('damage assessment: the example multi-head model with rules (tiny ONNX model of known weights)', () => {
  // Two boxes and a severity per box: [N, 2, 4] and [N, 2, 3]. Item 0 reads the colour as above; item 1
  // is fixed: box [0.5, 0.5, 0.75, 0.75], logits [0, 3, 0] (moderate).
  const perItem = linearHeads(
    [
      { name: 'boxes', weights: BOX_WEIGHTS.map((row) => [...row, 0, 0, 0, 0]), bias: [...BOX_BIAS, 0.5, 0.5, 0.75, 0.75], itemDims: [2, 4] },
      { name: 'severity_logits', weights: SEVERITY_WEIGHTS.map((row) => [...row, 0, 0, 0]), bias: [1, 1, 1, 0, 3, 0], itemDims: [2, 3] },
    ],
    { inputShape: [3, 224, 224] },
  );
  // Two boxes, one severity for the whole photo.
  const shared = linearHeads(
    [
      { name: 'boxes', weights: BOX_WEIGHTS.map((row) => [...row, 0, 0, 0, 0]), bias: [...BOX_BIAS, 0.5, 0.5, 0.75, 0.75], itemDims: [2, 4] },
      { name: 'severity_logits', weights: SEVERITY_WEIGHTS, bias: [1, 1, 1] },
    ],
    { inputShape: [3, 224, 224] },
  );
  // Two boxes but three severities: the heads disagree on the item count.
  const uneven = linearHeads(
    [
      { name: 'boxes', weights: BOX_WEIGHTS.map((row) => [...row, 0, 0, 0, 0]), bias: [...BOX_BIAS, 0.5, 0.5, 0.75, 0.75], itemDims: [2, 4] },
      { name: 'severity_logits', weights: SEVERITY_WEIGHTS.map((row) => [...row, ...row, ...row]), bias: Array(9).fill(1), itemDims: [3, 3] },
    ],
    { inputShape: [3, 224, 224] },
  );
  const withHeads = (heads: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
    ...example,
    heads: { ...(example.heads as object), ...heads },
    ...more,
  });
  const rules = example.rules as { aggregates: Record<string, unknown> };
  const input = example.input as Record<string, unknown>;
  let dir: string;
  let server: Server;
  let red: Buffer;

  beforeAll(async () => {
    dir = repository({
      'per-item': {
        onnx: perItem.bytes,
        manifest: withHeads(
          { tensors: { task: 'raw' } },
          { rules: { ...rules, aggregates: { ...rules.aggregates, meanConfidence: { op: 'mean', field: 'severity.confidence' } } } },
        ),
      },
      shared: { onnx: shared.bytes, manifest: example },
      uneven: { onnx: uneven.bytes, manifest: example },
      'too-few-labels': { onnx: model.bytes, manifest: withHeads({ severity: { task: 'classify', output: 'severity_logits', labels: ['minor', 'severe'] } }) },
      'output-unnamed': { onnx: model.bytes, manifest: withHeads({ box: { task: 'box', normalized: true } }) },
      'output-unknown': { onnx: model.bytes, manifest: withHeads({ box: { task: 'box', output: 'scores' } }) },
      'box-over-logits': { onnx: model.bytes, manifest: withHeads({ box: { task: 'box', output: 'severity_logits' } }) },
      'box-only': { onnx: model.bytes, manifest: { task: 'box', input, head: { output: 'boxes', normalized: true } } },
    });
    server = await startTestServer({ SIGHTLINE_MODELS_DIR: dir });
    await server.modelsLoaded;
    red = await solidImage('png', 896, 448, RED);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers boxes in image pixels, the severity, its cost and the aggregates from one run', async () => {
    expect((await detail(server, 'damage-assessment')).statistics.compute.batches).toBe(0);
    const { status, body } = await predict(server, 'damage-assessment', red);
    expect(status).toBe(200);
    const severity = classifyAnswer([0, 0, 2]);
    expect(severity.label).toBe('severe');
    expect(body).toEqual({
      model: 'damage-assessment',
      items: [{ box: [112, 28, 784, 392], severity, estimatedCost: COST.severe }],
      summary: { totalDamages: 1, overallSeverity: 'severe', costRange: COST.severe, confidence: severity.confidence },
      width: 896,
      height: 448,
      batchSize: 1,
      latencyMs: body.latencyMs,
    });
    // The documented answer schema holds it as it is.
    expect(predictAnswer.parse(body)).toEqual(body);
    // The box is the model's own output mapped back: fractions × 224, then ÷ the stretch scale.
    expect(body.items![0].box).toEqual(inPhoto(model.outputFor('boxes', meansOf(RED))));
    // Both heads read the outputs of a single session run.
    const after = await detail(server, 'damage-assessment');
    expect(after.statistics.compute.batches).toBe(1);
    expect(after.task).toBe('multi');
    expect(after.outputs).toEqual(['boxes', 'severity_logits']);
  });

  it('answers every colour of a batch with its own box, severity and cost', async () => {
    const images = await Promise.all([RED, GREEN, BLUE].map((c) => solidImage('png', 896, 448, c)));
    const res = await fetch(`${server.url}/v1/models/damage-assessment/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: images.map((b) => b.toString('base64')) }),
    });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as { results: Answer[] };
    const expected = [
      { box: [112, 28, 784, 392], logits: [0, 0, 2], cost: COST.severe },
      { box: [336, 140, 560, 280], logits: [0, 1, 0], cost: COST.moderate },
      { box: [336, 196, 560, 280], logits: [2, 0, 0], cost: COST.minor },
    ];
    expect(results.map((r) => ({ items: r.items, summary: r.summary }))).toEqual(
      expected.map(({ box, logits, cost }) => {
        const severity = classifyAnswer(logits);
        return {
          items: [{ box, severity, estimatedCost: cost }],
          summary: { totalDamages: 1, overallSeverity: severity.label, costRange: cost, confidence: severity.confidence },
        };
      }),
    );
    expect(results.map((r) => r.items![0].box)).toEqual([RED, GREEN, BLUE].map((c) => inPhoto(model.outputFor('boxes', meansOf(c)))));
  });

  it('zips per-item heads ([N, K, 4] boxes, [N, K, 3] severities) into items and sums their ranges; other heads answer under their name', async () => {
    const { status, body } = await predict(server, 'per-item', red);
    expect(status).toBe(200);
    const first = classifyAnswer([0, 0, 2]);
    const second = classifyAnswer([0, 3, 0]);
    expect(second.label).toBe('moderate');
    expect(body.items).toEqual([
      { box: [112, 28, 784, 392], severity: first, estimatedCost: COST.severe },
      { box: [448, 224, 672, 336], severity: second, estimatedCost: COST.moderate },
    ]);
    expect(body.summary).toEqual({
      totalDamages: 2,
      overallSeverity: 'severe',
      costRange: { min: 800 + 300, max: 2500 + 1200 },
      confidence: Math.min(first.confidence, second.confidence),
      meanConfidence: (first.confidence + second.confidence) / 2,
    });
    const tensors = body.tensors as { outputs: Record<string, { dims: number[]; data: number[] }> };
    expect(tensors.outputs.boxes).toEqual({ dims: [1, 2, 4], data: perItem.outputFor('boxes', meansOf(RED)) });
    expect(tensors.outputs.severity_logits).toEqual({ dims: [1, 2, 3], data: [0, 0, 2, 0, 3, 0] });
  });

  it('serves a box head alone (task "box") with the same mapping', async () => {
    const { status, body } = await predict(server, 'box-only', red);
    expect(status).toBe(200);
    expect(predictAnswer.parse(body)).toEqual({
      model: 'box-only',
      boxes: [[112, 28, 784, 392]],
      width: 896,
      height: 448,
      batchSize: 1,
      latencyMs: body.latencyMs,
    });
  });

  it('gives a head with one result to every item', async () => {
    const { status, body } = await predict(server, 'shared', red);
    expect(status).toBe(200);
    const severity = classifyAnswer([0, 0, 2]);
    expect(body.items).toEqual([
      { box: [112, 28, 784, 392], severity, estimatedCost: COST.severe },
      { box: [448, 224, 672, 336], severity, estimatedCost: COST.severe },
    ]);
    expect(body.summary).toEqual({ totalDamages: 2, overallSeverity: 'severe', costRange: { min: 1600, max: 5000 }, confidence: severity.confidence });
  });

  it('answers 500 naming both heads when they disagree on the item count, and keeps serving', async () => {
    const { status, body } = await predict(server, 'uneven', red);
    expect(status).toBe(500);
    expect(body.error).toEqual({
      code: 'model_output_mismatch',
      message: 'model uneven: multi head: head "box" gives 2 items but head "severity" 3; item heads give one row per item, or one for all',
    });
    expect((await predict(server, 'damage-assessment', red)).status).toBe(200);
  });

  it("refuses at load heads that do not fit the model's outputs, naming the head's field", async () => {
    const failed = async (name: string) => {
      const d = await detail(server, name);
      expect(d.state).toBe('failed');
      return d.error;
    };
    const at = (name: string) => `${dir}/${name}/model.json`;
    expect(await failed('too-few-labels')).toBe(
      `${at('too-few-labels')}: heads.severity.labels: 2 labels configured but output "severity_logits" has 3 classes (dims [N, 3])`,
    );
    expect(await failed('output-unnamed')).toBe(
      `${at('output-unnamed')}: heads.box.output: the model has 2 outputs (boxes, severity_logits); name the one this head reads`,
    );
    expect(await failed('output-unknown')).toBe(`${at('output-unknown')}: heads.box.output: no output "scores" (model outputs: boxes, severity_logits)`);
    expect(await failed('box-over-logits')).toBe(
      `${at('box-over-logits')}: heads.box.output: a box head reads [N, 4] or [N, K, 4]; output "severity_logits" has dims [N, 3]`,
    );
  });
});

describe('the example entry', () => {
  it('is not loaded by default: the repository loads models/<name>/model.json, and examples/ holds none', () => {
    expect(existsSync(path.join(repoRoot, 'models', 'examples', 'model.json'))).toBe(false);
    const repo = new ModelRepository({ modelsDir: path.join(repoRoot, 'models'), models: [], logger: pino({ level: 'silent' }), calibrate: false });
    const names = repo.discover();
    expect(names).not.toContain('examples');
    expect(names).not.toContain('damage-assessment');
    expect(names.length).toBeGreaterThan(0);
  });
});
