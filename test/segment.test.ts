import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, fromRaw, rgbPixels, type Rgb } from './helpers/images.js';
import { makeModelRepo } from './helpers/model-repo.js';
import { redGreenLogits } from './helpers/model-entries.js';
import { segmentationProbability } from './helpers/onnx-model.js';
import { repoRoot, startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Box = [number, number, number, number];

// Response bodies are checked field by field below, hence `any`.
const predict = async (server: Server, model: string, image: Buffer): Promise<{ status: number; body: any }> => {
  const res = await fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  return { status: res.status, body: await res.json() };
};
const describeModel = async (server: Server, model: string): Promise<any> => (await fetch(`${server.url}/v1/models/${model}`)).json();

/** A black PNG with filled rectangles `[x0, y0, x1, y1)` (pixel edges) drawn over it; the first that holds a pixel colours it. */
function rectangles(width: number, height: number, fills: Array<{ rect: Box; colour: Rgb }>): Promise<Buffer> {
  const pixels = rgbPixels(width, height, (x, y) => {
    const hit = fills.find(({ rect: [x0, y0, x1, y1] }) => x >= x0 && x < x1 && y >= y0 && y < y1);
    return hit ? hit.colour : [0, 0, 0];
  });
  return encode(fromRaw(pixels, width, height), 'png');
}

describe('segment models end to end (tiny ONNX models)', () => {
  // logits: background 0.5, red R, green G (input is pixel / 255): a pixel is red or green when that
  // channel is above 0.5, otherwise background (ties go to background). The letterbox grey 114 is background.
  const logits = redGreenLogits(64);
  // p = sigmoid(R − 0.5): above the head threshold 0.5 exactly where R > 0.5.
  const probability = segmentationProbability({ kind: 'sigmoid', threshold: 0.5, inputShape: [3, 64, 64] });
  const letterbox = { resize: 'letterbox', width: 64, height: 64, colorOrder: 'RGB' };
  let repoDir: string;
  let server: Server;

  beforeAll(async () => {
    repoDir = makeModelRepo({
      parts: { onnx: logits.bytes, manifest: { task: 'segment', input: letterbox, head: { labels: ['background', 'red', 'green'] } } },
      damage: { onnx: probability.bytes, manifest: { task: 'segment', input: letterbox, head: { labels: ['background', 'damage'] } } },
      wrong: { onnx: logits.bytes, manifest: { task: 'segment', input: letterbox, head: { labels: ['background', 'red'] } } },
      badopts: { onnx: logits.bytes, manifest: { task: 'segment', input: letterbox, head: { labels: ['background', 'red', 'green'], maxPolygons: 0 } } },
    });
    server = await startTestServer({ SIGHTLINE_MODELS_DIR: repoDir });
    await server.modelsLoaded;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('maps per-class polygons back through a downscaling letterbox: bbox and area exact', async () => {
    // 128×64 → 64×64: scale 0.5, content 64×32, 16 rows of padding above. Both shapes have even edges,
    // so each covers whole 2×2 blocks of the photo and whole tensor pixels: the red square x 16..48 is
    // tensor columns 8..23 (the resampling blends only across the edge, symmetrically, and the 0.5 cut
    // splits the blend at the edge).
    const image = await rectangles(128, 64, [
      { rect: [16, 16, 48, 48], colour: [255, 0, 0] },
      { rect: [72, 8, 120, 40], colour: [0, 255, 0] },
    ]);
    const { status, body } = await predict(server, 'parts', image);
    expect(status).toBe(200);
    expect(body.width).toBe(128);
    expect(body.height).toBe(64);
    // The outline runs through the centres of the boundary map pixels: half a map pixel inside the
    // shape's edges, which is 0.5 / 0.5 = 1 original pixel. So a W×H rectangle comes back as the
    // rectangle inset by 1 on every side, with area (W − 2)(H − 2): exact, not approximate.
    const inset = ([x0, y0, x1, y1]: Box): Box => [x0 + 1, y0 + 1, x1 - 1, y1 - 1];
    expect(
      body.polygons.map((p: { label: string; bbox: Box; area: number; holes: unknown[] }) => ({ label: p.label, bbox: p.bbox, area: p.area, holes: p.holes })),
    ).toEqual([
      { label: 'green', bbox: inset([72, 8, 120, 40]), area: 46 * 30, holes: [] },
      { label: 'red', bbox: inset([16, 16, 48, 48]), area: 30 * 30, holes: [] },
    ]);
    expect(body.polygons[1].points).toHaveLength(4);
    expect('score' in body.polygons[0]).toBe(false);
  });

  it('maps a ring with its hole, and scores a probability map by its mean, through a padding-only letterbox', async () => {
    // 64×32 → 64×64: scale 1 (no resampling), 16 rows of padding above. A bright ring with a black
    // hole, and a dimmer square: p = sigmoid(1 − 0.5) on the ring, sigmoid(160/255 − 0.5) on the square.
    const image = await rectangles(64, 32, [
      { rect: [14, 10, 18, 14], colour: [0, 0, 0] },
      { rect: [8, 4, 24, 20], colour: [255, 255, 255] },
      { rect: [40, 8, 52, 28], colour: [160, 160, 160] },
    ]);
    const { status, body } = await predict(server, 'damage', image);
    expect(status).toBe(200);
    // Largest first: the square (11 × 19 = 209) before the ring (202).
    const [square, ring] = body.polygons;
    // Centre outlines, + 0.5 and − 16 rows of padding: the ring's outer outline is x 8.5..23.5,
    // y 4.5..19.5 (15 × 15); its 4×4 hole is outlined through the pixels around it with the corners
    // cut, (4 + 1)² − 2 = 23.
    expect(ring.label).toBe('damage');
    expect(ring.bbox).toEqual([8.5, 4.5, 23.5, 19.5]);
    expect(ring.holes).toHaveLength(1);
    const hx = ring.holes[0].map((p: number[]) => p[0]);
    const hy = ring.holes[0].map((p: number[]) => p[1]);
    expect([Math.min(...hx), Math.min(...hy), Math.max(...hx), Math.max(...hy)]).toEqual([13.5, 9.5, 18.5, 14.5]);
    expect(ring.area).toBe(15 * 15 - 23);
    // float32 from ONNX Runtime: 6 digits.
    expect(ring.score).toBeCloseTo(probability.probabilityOf(1), 6);
    expect(square).toEqual({
      label: 'damage',
      score: expect.closeTo(probability.probabilityOf(160 / 255), 6),
      points: [
        [40.5, 8.5],
        [40.5, 27.5],
        [51.5, 27.5],
        [51.5, 8.5],
      ],
      holes: [],
      area: 11 * 19,
      bbox: [40.5, 8.5, 51.5, 27.5],
    });
  });

  it('answers 500 naming the mismatch when the labels do not fit the model, and keeps serving', async () => {
    const image = await rectangles(64, 32, []);
    const { status, body } = await predict(server, 'wrong', image);
    expect(status).toBe(500);
    // The worker reports head failures by message; the message names the model and the mismatch.
    expect(body.error).toEqual({ code: 'model_output_mismatch', message: 'model wrong: segment head: model has 3 classes but 2 labels are configured' });
    expect((await predict(server, 'parts', image)).status).toBe(200);
  });

  it('refuses a manifest with bad head options, naming the field', async () => {
    const detail = await describeModel(server, 'badopts');
    expect(detail.state).toBe('failed');
    expect(detail.error).toBe(`${repoDir}/badopts/model.json: head.maxPolygons: Too small: expected number to be >0`);
  });
});

/* ------------------------------------------------------------------ real detector */

const FONT = 'font-family="DejaVu Sans" font-size="30" fill="#202020"';
const CANVAS = { width: 640, height: 320 };

/** Words at known baselines, far enough apart (≥ 70 px across, ≥ 60 px down) that DB keeps them apart. */
const WORDS = [
  { text: 'Sightline', x: 30, y: 60 },
  { text: 'reads', x: 290, y: 60 },
  { text: 'words', x: 470, y: 60 },
  { text: 'Polygon', x: 60, y: 160 },
  { text: 'masks', x: 360, y: 160 },
  // Two words at normal spacing: the detector reads them as one line, so they are one item here.
  { text: 'Detector 2026', x: 150, y: 260 },
];

const svg = (words: typeof WORDS) =>
  Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CANVAS.width}" height="${CANVAS.height}">` +
      `<rect width="100%" height="100%" fill="white"/>` +
      words.map((w) => `<text x="${w.x}" y="${w.y}" ${FONT}>${w.text}</text>`).join('') +
      `</svg>`,
  );

/** The ink box of one word, in pixel edges: the word rendered alone, scanned for non-white pixels. */
async function inkBox(word: (typeof WORDS)[number]): Promise<Box> {
  const { data, info } = await sharp(svg([word]))
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      if (data[y * info.width + x] < 200) {
        x0 = Math.min(x0, x);
        y0 = Math.min(y0, y);
        x1 = Math.max(x1, x + 1);
        y1 = Math.max(y1, y + 1);
      }
    }
  }
  return [x0, y0, x1, y1];
}

const iou = (a: Box, b: Box) => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
};

describe('text-detect with the real PP-OCRv4 detector', () => {
  let server: Server;

  beforeAll(async () => {
    server = await startTestServer({ SIGHTLINE_MODELS_DIR: path.join(repoRoot, 'models'), SIGHTLINE_MODELS: 'text-detect' });
    await server.modelsLoaded;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is ready', async () => {
    const detail = await describeModel(server, 'text-detect');
    expect(detail.state).toBe('ready');
    expect(detail.task).toBe('text-detect');
  });

  it('covers every rendered word with one polygon (IoU ≥ 0.5 with its ink box), in reading order', async () => {
    const boxes = await Promise.all(WORDS.map(inkBox));
    // The layout is as intended: every word inked, none overlapping another.
    for (const [i, a] of boxes.entries()) {
      expect(a[2] - a[0]).toBeGreaterThan(40);
      for (const b of boxes.slice(i + 1)) expect(iou(a, b)).toBe(0);
    }
    const image = await sharp(svg(WORDS)).png().toBuffer();
    const { status, body } = await predict(server, 'text-detect', image);
    expect(status).toBe(200);
    // 640×320 is already a multiple of 32: the detector sees the image unscaled.
    expect(body.regions).toHaveLength(WORDS.length);
    // Reading order is the order the words were laid out in, line by line, left to right.
    body.regions.forEach((region: { box: Box; score: number; points: number[][] }, i: number) => {
      expect(iou(region.box, boxes[i])).toBeGreaterThanOrEqual(0.5);
      expect(region.score).toBeGreaterThanOrEqual(0.6);
      expect(region.points.length).toBeGreaterThanOrEqual(4);
    });
  });
});
