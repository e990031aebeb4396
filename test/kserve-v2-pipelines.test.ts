import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { rgbPixels, type Rgb } from './helpers/images.js';
import { infer } from './helpers/kserve-client.js';
import { makeModelRepo, plainInput } from './helpers/model-repo.js';
import { fixedDetector, linearClassifier } from './helpers/onnx-model.js';
import { writePipeline } from './helpers/pipeline-repo.js';
import { serveModelRepo } from './helpers/server.js';

// Two boxes the detector always finds (64 × 64 input, a 128 × 128 page stretched onto it).
const detector = fixedDetector({
  boxes: [
    { cx: 16, cy: 16, w: 16, h: 16, scores: [0.8, 0.05] },
    { cx: 48, cy: 16, w: 16, h: 16, scores: [0.05, 0.9] },
  ],
});
const boxes = { a: [16, 16, 48, 48], b: [80, 16, 112, 48] } as const;

function page(a: Rgb, b: Rgb): Promise<Buffer> {
  const inside = (box: readonly number[], x: number, y: number) => x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
  const pixels = rgbPixels(128, 128, (x, y) => (inside(boxes.a, x, y) ? a : inside(boxes.b, x, y) ? b : [255, 255, 255]));
  return sharp(pixels, { raw: { width: 128, height: 128, channels: 3 } })
    .png()
    .toBuffer();
}

const suite = serveModelRepo(
  () => {
    const repo = makeModelRepo({
      boxes: {
        onnx: detector.bytes,
        manifest: { task: 'detect', input: { resize: 'stretch', width: 64, height: 64, colorOrder: 'RGB' }, head: { labels: ['thing', 'other'] } },
      },
      paint: { onnx: linearClassifier({ classes: 3 }).bytes, manifest: { task: 'classify', input: plainInput, head: { labels: ['red', 'green', 'blue'] } } },
    });
    writePipeline(repo, 'colours', {
      steps: [
        { id: 'detect', op: 'predict', model: 'boxes' },
        { id: 'things', op: 'crop', from: 'detect', upright: false },
        { id: 'paint', op: 'map', model: 'paint', over: 'things' },
      ],
      output: { items: 'things', as: 'boxes', fields: { colour: 'paint.label' } },
    });
    return repo;
  },
  { SIGHTLINE_CALIBRATE: 'false' },
);

describe('pipelines over the Open Inference Protocol', () => {
  it('list their BYTES image input and answer output, and answer as /v1 predict does', async () => {
    const meta = (await (await fetch(`${suite.url}/v2/models/colours`)).json()) as Record<string, unknown>;
    expect(meta).toEqual({
      name: 'colours',
      versions: ['1'],
      platform: 'ensemble',
      inputs: [{ name: 'image', datatype: 'BYTES', shape: [-1] }],
      outputs: [{ name: 'answer', datatype: 'BYTES', shape: [-1] }],
    });
    const png = await page([255, 0, 0], [0, 0, 255]);
    const v1 = (await (
      await fetch(`${suite.url}/v1/models/colours/predict`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } })
    ).json()) as {
      boxes: Array<{ colour: string }>;
    };
    const answer = await infer(suite.url, 'colours', [{ name: 'image', datatype: 'BYTES', shape: [1], data: [png] }], { binary: true });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ model_name: 'colours', model_version: '1' });
    const body = JSON.parse(answer.outputs.answer.values[0] as string) as { boxes: Array<{ colour: string }> };
    expect(body.boxes.map((b) => b.colour)).toEqual(['red', 'blue']);
    expect(body.boxes).toEqual(v1.boxes);
  });

  it('take encoded images only', async () => {
    const answer = await infer(suite.url, 'colours', [{ name: 'input', datatype: 'FP32', shape: [1, 3, 8, 8], data: new Float32Array(192) }]);
    expect(answer).toMatchObject({ status: 400, json: { error: "pipeline 'colours' takes encoded images only, as BYTES input 'image'" } });
    const stats = await fetch(`${suite.url}/v2/models/colours/stats`);
    expect(stats.status).toBe(400);
    expect(await stats.json()).toEqual({ error: "'colours' is a pipeline: its steps' models keep the statistics" });
    expect(await (await fetch(`${suite.url}/v2/models/colours/ready`)).json()).toEqual({ name: 'colours', ready: true });
  });
});
