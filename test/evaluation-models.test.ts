import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateDataset, reportOf } from './helpers/evaluations.js';
import { repoRoot, startTestServer } from './helpers/server.js';
import { textImage } from './helpers/text-image.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
let server: Server;
let datasets: string;

/** Lines of ordinary words, digits and punctuation, as the direction classifier and the recogniser meet them in documents. */
const LINES = [
  'Invoice 2026-0113',
  'Total due 418.50',
  'Hello World 2026',
  'Quality control passed',
  'Serial AB-7731',
  'Delivery on Monday',
  'Batch 42 of 97',
  'Keep away from heat',
  'Made in Portugal',
  'Room 3.14 opens',
  'Order ready',
  'Tracking 88120045',
  'Fragile glass',
  'Net weight 750 g',
  'Exit via gate 7',
  'Open other side',
  'Best before 2027',
  'Page 12 of 30',
  'Cash only',
  'Thank you',
];

beforeAll(async () => {
  datasets = mkdtempSync(path.join(os.tmpdir(), 'sightline-real-sets-'));
  for (const [i, line] of LINES.entries()) {
    const upright = await textImage(line, { width: 360, height: 48 });
    const turned = await textImage(line, { width: 360, height: 48, rotate180: true });
    for (const [label, png] of [
      ['0', upright],
      ['180', turned],
    ] as const) {
      mkdirSync(path.join(datasets, 'directions', label), { recursive: true });
      writeFileSync(path.join(datasets, 'directions', label, `${i}.png`), png);
    }
    for (const set of ['lines', 'mistyped']) {
      mkdirSync(path.join(datasets, set, 'img'), { recursive: true });
      writeFileSync(path.join(datasets, set, 'img', `${i}.png`), upright);
    }
  }
  writeFileSync(path.join(datasets, 'lines', 'labels.txt'), LINES.map((l, i) => `img/${i}.png\t${l}\n`).join(''));
  // The same lines with two labels mistyped: 3 character edits and 2 word edits against a perfect reading.
  const mistyped = LINES.map((l) => (l === 'Cash only' ? 'Cash onyl' : l === 'Thank you' ? 'Thanks you' : l));
  writeFileSync(path.join(datasets, 'mistyped', 'labels.txt'), mistyped.map((l, i) => `img/${i}.png\t${l}\n`).join(''));
  server = await startTestServer({
    SIGHTLINE_MODELS_DIR: path.join(repoRoot, 'models'),
    SIGHTLINE_MODELS: 'text-direction,text-recognize',
    SIGHTLINE_DATASETS_DIR: datasets,
  });
  await server.modelsLoaded;
}, 120_000);
afterAll(async () => {
  await server?.close();
});

const evaluate = (model: string, dataset: string) => evaluateDataset(server.url, model, dataset, 60_000);

describe('evaluation with the real models', () => {
  it('text-direction on rendered lines, upright and turned 180°', async () => {
    const e = await evaluate('text-direction', 'directions');
    expect(e).toMatchObject({ status: 'succeeded', task: 'classify', layout: 'imagefolder', done: 40, problems: 0 });
    const r = reportOf(e, 'classify');
    const m = r.metrics;
    // As measured: the PP-OCR classifier reads every rendered line the right way up.
    expect(m.confusion).toEqual({
      labels: ['0', '180'],
      matrix: [
        [20, 0],
        [0, 20],
      ],
    });
    expect(m.accuracy).toBe(1);
    expect(m.binary).toMatchObject({ positive: '180', positives: 20, negatives: 20, auc: 1 });
    expect(r.model).toMatchObject({ name: 'text-direction', version: 1, reloaded: false });
    expect(r.timing.imagesPerSecond).toBeGreaterThan(0);
  }, 120_000);

  it('text-recognize on rendered lines with known text', async () => {
    const e = await evaluate('text-recognize', 'lines');
    expect(e).toMatchObject({ status: 'succeeded', task: 'text-recognize', layout: 'labels-txt', done: 20, problems: 0 });
    const m = reportOf(e, 'text-recognize').metrics;
    expect(m.characters.reference).toBe(LINES.reduce((n, l) => n + l.length, 0));
    // PP-OCRv4 on clean rendered text: within these bounds of the figures measured (CER 0, WER 0, every line exact).
    expect(m.cer).toBeLessThanOrEqual(0.02);
    expect(m.wer).toBeLessThanOrEqual(0.05);
    expect(m.exactLineAccuracy).toBeGreaterThanOrEqual(0.9);
  }, 120_000);

  it('text-recognize against labels with typing errors: the errors are what CER counts', async () => {
    const e = await evaluate('text-recognize', 'mistyped');
    expect(e.status).toBe('succeeded');
    const m = reportOf(e, 'text-recognize').metrics;
    expect(m.characters.edits).toBe(3);
    expect(m.words.edits).toBe(2);
    expect(m.cer).toBeCloseTo(3 / (LINES.reduce((n, l) => n + l.length, 0) + 1), 12);
    expect(m.worst.map((w) => [w.file, w.characterEdits])).toEqual([
      ['img/18.png', 2],
      ['img/19.png', 1],
    ]);
  }, 120_000);
});
