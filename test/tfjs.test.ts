import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ClassifyAnswer, RawAnswer } from '../dist/src/heads/index.js';
import type { Answer, ModelDetailAnswer, ModelListAnswer } from './helpers/answers.js';
import { solidImage } from './helpers/images.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { serveModelRepo } from './helpers/server.js';
import { meanDenseLayers, meanScaleGraph } from './helpers/tfjs-model.js';

// Dense kernel (input channel × class) and bias: a solid red image has channel means [1, 0, 0], so
// logits [2, 0.5, 0]; green [0, 1.5, 0]; blue [0, 0.5, 1].
const kernel = [
  [2, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
];
const bias = [0, 0.5, 0];
const labels = ['red', 'green', 'blue'];
const softmax = (logits: number[]) => {
  const e = logits.map(Math.exp);
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
};

const input = { ...plainInput, layout: 'NHWC' };
const layers = {
  task: 'classify',
  backend: 'tfjs',
  file: 'tfjs/model.json',
  input,
  head: { labels, softmax: true },
  batching: { maxBatchSize: 8, maxQueueDelayMs: 30 },
};

const suite = serveModelRepo(async () => {
  const repoDir = makeModelRepo({
    layers: { manifest: layers },
    graph: { manifest: { task: 'raw', backend: 'tfjs', file: 'tfjs/model.json', input, tfjs: { format: 'graph' } } },
    gpu: { manifest: { ...layers, device: 'cuda' } },
    gpustrict: { manifest: { ...layers, device: 'cuda', strict: true } },
    badoutput: { manifest: { ...layers, outputs: ['nope'] } },
    cudaopts: { manifest: { ...layers, device: 'cuda', cuda: { gpuMemLimit: 1024 } } },
    gpu1: { manifest: { ...layers, device: 'cuda', deviceId: 1 } },
  });
  for (const name of ['layers', 'gpu', 'gpustrict', 'badoutput', 'cudaopts', 'gpu1']) await meanDenseLayers(path.join(repoDir, name, 'tfjs'), kernel, bias);
  meanScaleGraph(path.join(repoDir, 'graph', 'tfjs'), [1, 2, 4]);
  return repoDir;
});

const png = (rgb: [number, number, number]) => solidImage('png', 8, 8, rgb);
const predict = async <Head = ClassifyAnswer>(model: string, rgb: [number, number, number]) => {
  const res = await fetch(`${suite.url}/v1/models/${model}/predict`, { method: 'POST', body: await png(rgb), headers: { 'content-type': 'image/png' } });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer<Head>;
};
const detail = async (model: string) => (await (await fetch(`${suite.url}/v1/models/${model}`)).json()) as ModelDetailAnswer;

describe('tfjs backend: loading and reporting', () => {
  it('loads layers and graph models and refuses bad manifests, naming the field', async () => {
    const body = (await (await fetch(`${suite.url}/v1/models`)).json()) as ModelListAnswer;
    const states = Object.fromEntries(body.models.map((m) => [m.name, m.state]));
    expect(states).toEqual({ badoutput: 'failed', cudaopts: 'failed', gpu: 'ready', gpu1: 'failed', gpustrict: 'failed', graph: 'ready', layers: 'ready' });
    const errors = Object.fromEntries(body.models.filter((m) => m.error).map((m) => [m.name, m.error]));
    expect(errors.cudaopts).toBe(`${suite.repoDir}/cudaopts/model.json: cuda: ONNX Runtime options; backend "tfjs" does not take them`);
    expect(errors.gpu1).toBe(`${suite.repoDir}/gpu1/model.json: deviceId: backend "tfjs" uses the first visible GPU; choose it with CUDA_VISIBLE_DEVICES`);
    expect(errors.badoutput).toBe(`${suite.repoDir}/badoutput/tfjs/model.json: output "nope" not found; the model's outputs are logits`);
  });

  it('reports the runtime in use, its thread count and the model names', async () => {
    const d = await detail('layers');
    expect(d.device).toEqual({ requested: 'cpu', actual: 'cpu', runtime: 'tfjs-wasm', intraOpThreads: 1, instances: 1 });
    expect(d.spec?.backend).toBe('tfjs');
    expect(d.inputs).toEqual(['image']);
    expect(d.outputs).toEqual(['logits']);
    const g = await detail('graph');
    expect(g.inputs).toEqual(['image']);
    expect(g.outputs).toEqual(['scores']);
  });

  it('falls back from CUDA to WebAssembly and says why; strict refuses', async () => {
    const d = await detail('gpu');
    expect(d.device).toEqual({
      requested: 'cuda',
      actual: 'cpu',
      runtime: 'tfjs-wasm',
      fallbackReason: 'CUDA unavailable for TensorFlow.js: @tensorflow/tfjs-node-gpu is not installed',
      intraOpThreads: 1,
      instances: 1,
    });
    expect((await predict('gpu', [0, 0, 255])).label).toBe('blue');
    const strict = await detail('gpustrict');
    expect(strict.state).toBe('failed');
    expect(strict.error).toBe(
      'CUDA unavailable for TensorFlow.js: @tensorflow/tfjs-node-gpu is not installed (device "cuda" with strict: true, so no CPU fallback)',
    );
  });
});

describe('tfjs backend: exact outputs', () => {
  it('classifies through a layers model with the weights it was saved with', async () => {
    for (const [rgb, logits, label] of [
      [[255, 0, 0], [2, 0.5, 0], 'red'],
      [[0, 255, 0], [0, 1.5, 0], 'green'],
      [[0, 0, 255], [0, 0.5, 1], 'blue'],
    ] as const) {
      const body = await predict('layers', [...rgb]);
      const p = softmax([...logits]);
      expect(body.label).toBe(label);
      labels.forEach((l, i) => expect(body.probabilities[l]).toBeCloseTo(p[i], 6));
      expect(body.topK.map((t) => t.label)).toEqual([...labels].sort((a, b) => p[labels.indexOf(b)] - p[labels.indexOf(a)]));
    }
  });

  it('runs a graph model and returns its raw output', async () => {
    const body = await predict<RawAnswer>('graph', [10, 20, 30]);
    expect(body.outputs.scores.dims).toEqual([1, 3]);
    const expected = [10 / 255, (2 * 20) / 255, (4 * 30) / 255];
    expected.forEach((v, i) => expect(body.outputs.scores.data[i]).toBeCloseTo(v, 6));
  });

  it('keeps each answer with its request when requests share a batch', async () => {
    const colours: Array<[number, number, number]> = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const answers = await Promise.all(Array.from({ length: 9 }, (_, i) => predict('layers', colours[i % 3])));
    expect(answers.map((a) => a.label)).toEqual(Array.from({ length: 9 }, (_, i) => labels[i % 3]));
    expect(Math.max(...answers.map((a) => a.batchSize))).toBeGreaterThan(1);
    const green = softmax([0, 1.5, 0]);
    for (const a of answers.filter((x) => x.label === 'green')) expect(a.confidence).toBeCloseTo(green[1], 6);
  });
});
