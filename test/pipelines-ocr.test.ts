import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ocrRepo, writePipeline } from './helpers/pipeline-repo.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Line = { text?: string; confidence?: number; points: [number, number][]; box: [number, number, number, number]; error?: unknown };
type StepTime = { startMs: number; ms: number; items?: number; queueMs?: number; inferMs?: number; meanBatchSize?: number };
type OcrAnswer = { model: string; lines: Line[]; text: string; width: number; height: number; latencyMs: { totalMs: number; steps: Record<string, StepTime> } };

interface Drawn {
  text: string;
  x: number;
  y: number;
  size: number;
  /** Degrees, clockwise on screen, about (x, y). */
  rotate?: number;
}

/** Black DejaVu Sans on white, rendered by sharp (librsvg) from SVG. */
function render(width: number, height: number, lines: readonly Drawn[]): Promise<Buffer> {
  const text = lines
    .map(
      (l) =>
        `<text x="${l.x}" y="${l.y}" font-family="DejaVu Sans" font-size="${l.size}" ` +
        `fill="black"${l.rotate ? ` transform="rotate(${l.rotate} ${l.x} ${l.y})"` : ''}>${l.text}</text>`,
    )
    .join('');
  return sharp(
    Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${text}</svg>`),
  )
    .png()
    .toBuffer();
}

/** Listed top to bottom: the order a reader takes them in. */
const PAGE: Drawn[] = [
  { text: 'Invoice 2026-0417', x: 40, y: 60, size: 40 },
  { text: 'Total due: 1,280.00 EUR', x: 40, y: 130, size: 26 },
  { text: 'Thank you for your order', x: 40, y: 180, size: 16 },
  { text: 'Upside down line', x: 460, y: 250, size: 26, rotate: 180 },
  { text: 'Slanted text here', x: 60, y: 380, size: 26, rotate: -20 },
  { text: 'Tilted the other way', x: 420, y: 330, size: 22, rotate: 15 },
  { text: 'Steeply turned words', x: 100, y: 470, size: 24, rotate: 28 },
  { text: 'Signed: M. Keller', x: 480, y: 600, size: 20 },
];

const STEPS = ['input', 'detect', 'lines', 'direction', 'upright', 'recognize'];

let server: Server;

beforeAll(async () => {
  const { repo, ocr } = ocrRepo('sightline-ocr-');
  // The same pipeline with the crops of each request kept out of other requests' batches.
  writePipeline(repo, 'ocr-solo', { ...ocr, batchAcrossRequests: false });
  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_CALIBRATE: 'false' });
  await server.modelsLoaded;
});
afterAll(async () => {
  await server?.close();
});

async function ocr(image: Buffer, model = 'ocr'): Promise<OcrAnswer> {
  const res = await fetch(`${server.url}/v1/models/${model}/predict`, { method: 'POST', body: image, headers: { 'content-type': 'image/png' } });
  expect(res.status).toBe(200);
  return (await res.json()) as OcrAnswer;
}

const histogram = async (model: string) =>
  ((await (await fetch(`${server.url}/v1/models/${model}`)).json()) as { statistics: { batchSizeHistogram: Record<string, number> } }).statistics
    .batchSizeHistogram;

/** Batches by size run since `before`. */
const since = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).flatMap(([size, n]) => (n - (before[size] ?? 0) > 0 ? [[size, n - (before[size] ?? 0)]] : [])));

describe('the ocr pipeline (text-detect → upright crops → text-direction → text-recognize)', () => {
  it('reads every line of a rendered page exactly, in reading order: mixed sizes, one upside down, three turned by 15–28°', async () => {
    const body = await ocr(await render(800, 640, PAGE));
    expect(body.lines.map((l) => l.text)).toEqual(PAGE.map((l) => l.text));
    expect(body.text).toBe(PAGE.map((l) => l.text).join('\n'));
    expect(body).toMatchObject({ model: 'ocr', width: 800, height: 640 });
    for (const line of body.lines) {
      expect(line.confidence).toBeGreaterThan(0.9);
      expect(line.points).toHaveLength(4);
      const [x1, y1, x2, y2] = line.box;
      expect(x1).toBeGreaterThanOrEqual(0);
      expect(y1).toBeGreaterThanOrEqual(0);
      expect(x2).toBeLessThanOrEqual(800);
      expect(y2).toBeLessThanOrEqual(640);
      for (const [x, y] of line.points) expect([x >= x1 && x <= x2, y >= y1 && y <= y2]).toEqual([true, true]);
    }
    // Where the text was drawn: the title starts at x = 40 with its glyphs between y ≈ 30 and 60.
    const [x1, y1, , y2] = body.lines[0].box;
    expect(Math.abs(x1 - 40)).toBeLessThan(8);
    expect(y1).toBeGreaterThan(25);
    expect(y2).toBeLessThan(66);
    // The quadrilateral runs as the text reads: the upside-down line from right to left on the page,
    // the line turned by 28° downwards at tan 28° ≈ 0.53.
    const upside = body.lines[3].points;
    expect(upside[0][0]).toBeGreaterThan(upside[1][0]);
    const steep = body.lines[6].points;
    expect((steep[1][1] - steep[0][1]) / (steep[1][0] - steep[0][0])).toBeCloseTo(Math.tan((28 * Math.PI) / 180), 1);

    const steps = body.latencyMs.steps;
    expect(Object.keys(steps)).toEqual(STEPS);
    expect(steps.lines.items).toBe(PAGE.length);
    expect(steps.recognize).toMatchObject({ items: PAGE.length });
    for (const id of ['detect', 'direction', 'recognize']) expect(steps[id].inferMs).toBeGreaterThan(0);
    for (let i = 1; i < STEPS.length; i++) expect(steps[STEPS[i]].startMs).toBeGreaterThanOrEqual(steps[STEPS[i - 1]].startMs + steps[STEPS[i - 1]].ms - 0.01);
  });

  it('answers an empty page with no lines and no text', async () => {
    const blank = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    const body = await ocr(blank);
    expect(body.lines).toEqual([]);
    expect(body.text).toBe('');
    expect(Object.keys(body.latencyMs.steps)).toEqual(STEPS);
    expect(body.latencyMs.steps.lines.items).toBe(0);
  });

  it("batches the crops of concurrent requests together through the recogniser's own batcher", async () => {
    // One line per page: a batch of more than one line holds lines of different requests.
    const pages = await Promise.all(
      ['alpha one', 'bravo two', 'charlie three', 'delta four', 'echo five', 'foxtrot six', 'golf seven', 'hotel eight'].map((t) =>
        render(360, 80, [{ text: t, x: 20, y: 52, size: 30 }]),
      ),
    );
    const texts = ['alpha one', 'bravo two', 'charlie three', 'delta four', 'echo five', 'foxtrot six', 'golf seven', 'hotel eight'];

    const shared = await histogram('text-recognize');
    const answers = await Promise.all(pages.map((p) => ocr(p)));
    expect(answers.map((a) => a.text)).toEqual(texts);
    const sharedBatches = since(shared, await histogram('text-recognize'));
    expect(Math.max(...Object.keys(sharedBatches).map(Number))).toBeGreaterThan(1);
    expect(Math.max(...answers.map((a) => a.latencyMs.steps.recognize.meanBatchSize!))).toBeGreaterThan(1);

    // Kept apart, the same load runs every line alone.
    const solo = await histogram('text-recognize');
    const alone = await Promise.all(pages.map((p) => ocr(p, 'ocr-solo')));
    expect(alone.map((a) => a.text)).toEqual(texts);
    expect(since(solo, await histogram('text-recognize'))).toEqual({ 1: 8 });
  });
});
