import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as nsfwjs from 'nsfwjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ClassifyAnswer } from '../dist/src/heads/index.js';
import type { Answer, BatchOf, ServingModelAnswer } from './helpers/answers.js';
import { repoRoot, startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

const LABELS = ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'];
const UNSAFE = ['Hentai', 'Porn', 'Sexy'];

/** A flat cartoon: sky, sun, lawn, a house with a roof and a door, a tree; thick black outlines. */
const houseSvg = (w: number, h: number) => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 224 224" preserveAspectRatio="none">
<rect width="224" height="224" fill="#8fd3ff"/>
<circle cx="180" cy="40" r="24" fill="#ffd400" stroke="#000" stroke-width="4"/>
<rect y="160" width="224" height="64" fill="#5cc85c" stroke="#000" stroke-width="4"/>
<rect x="50" y="100" width="90" height="70" fill="#ff6b6b" stroke="#000" stroke-width="5"/>
<polygon points="40,102 95,55 150,102" fill="#b35900" stroke="#000" stroke-width="5"/>
<rect x="82" y="130" width="26" height="40" fill="#7a3d00" stroke="#000" stroke-width="4"/>
<rect x="165" y="110" width="14" height="55" fill="#7a3d00" stroke="#000" stroke-width="4"/>
<circle cx="172" cy="100" r="26" fill="#2e9e2e" stroke="#000" stroke-width="4"/>
</svg>`;

/** A flat cartoon robot on a pale background. */
const robotSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="320" viewBox="0 0 224 224">
<rect width="224" height="224" fill="#fff4c2"/>
<rect x="62" y="40" width="100" height="80" rx="10" fill="#9ad0ec" stroke="#000" stroke-width="5"/>
<circle cx="92" cy="78" r="12" fill="#fff" stroke="#000" stroke-width="4"/><circle cx="132" cy="78" r="12" fill="#fff" stroke="#000" stroke-width="4"/>
<rect x="92" y="100" width="40" height="8" fill="#000"/>
<rect x="72" y="125" width="80" height="70" rx="8" fill="#f28c28" stroke="#000" stroke-width="5"/>
<line x1="112" y1="40" x2="112" y2="18" stroke="#000" stroke-width="4"/><circle cx="112" cy="16" r="6" fill="#e33" stroke="#000" stroke-width="3"/>
</svg>`;

const png = (svg: string) => sharp(Buffer.from(svg)).removeAlpha().png().toBuffer();

beforeAll(async () => {
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: path.join(repoRoot, 'models'), SIGHTLINE_MODELS: 'content-safety' });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const predict = async (image: Buffer) => {
  const res = await fetch(`${server.url}/v1/models/content-safety/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer<ClassifyAnswer>;
};
const unsafeShare = (probabilities: Record<string, number>) => UNSAFE.reduce((sum, l) => sum + probabilities[l], 0);

describe('content-safety (nsfwjs MobileNetV2 on TensorFlow.js)', () => {
  it('loads on the WebAssembly runtime with its five labels', async () => {
    const d = (await (await fetch(`${server.url}/v1/models/content-safety`)).json()) as ServingModelAnswer;
    expect(d.state).toBe('ready');
    expect(d.device).toEqual({ requested: 'cpu', actual: 'cpu', runtime: 'tfjs-wasm', intraOpThreads: 1, instances: 1 });
    expect(d.spec.backend).toBe('tfjs');
    expect(d.spec.head.labels).toEqual(LABELS);
    expect(d.inputs).toEqual(['input_1']);
    expect(d.outputs).toEqual(['dense_3']);
  });

  it('answers what nsfwjs itself answers for the same pixels', async () => {
    const image = await png(houseSvg(224, 224));
    const body = await predict(image);

    // nsfwjs on TensorFlow.js's plain JS backend in this process: an independent implementation of the same model and preprocessing.
    tf.enableProdMode();
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const reference = await nsfwjs.load('MobileNetV2');
    info.mockRestore();
    const pixels = await sharp(image).raw().toBuffer();
    const expected = await reference.classify(tf.tensor3d(pixels, [224, 224, 3], 'int32'), 5);
    reference.dispose();

    expect(Object.keys(body.probabilities)).toEqual(LABELS);
    for (const { className, probability } of expected) expect(body.probabilities[className]).toBeCloseTo(probability, 5);
    expect(body.label).toBe(expected[0].className);
  });

  it('classifies flat drawings as Drawing or Neutral, never Hentai, Porn or Sexy', async () => {
    const form = new FormData();
    form.append('file', new Blob([await png(houseSvg(640, 480))], { type: 'image/png' }), 'house.png');
    form.append('file', new Blob([await png(robotSvg)], { type: 'image/png' }), 'robot.png');
    const res = await fetch(`${server.url}/v1/models/content-safety/predict`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const { results } = (await res.json()) as BatchOf<Answer<ClassifyAnswer>>;
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(['Drawing', 'Neutral']).toContain(r.label);
      expect(unsafeShare(r.probabilities)).toBeLessThan(0.05);
      expect(r.topK).toHaveLength(5);
    }
    expect(results.map((r) => [r.width, r.height])).toEqual([
      [640, 480],
      [320, 320],
    ]);
  });
});
