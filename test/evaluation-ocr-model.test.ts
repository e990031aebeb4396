import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorAnswer } from './helpers/answers.js';
import { evaluateDataset, reportOf } from './helpers/evaluations.js';
import { paddleLabel } from './helpers/ocr-labels.js';
import { ocrRepo, writePipeline } from './helpers/pipeline-repo.js';
import { startTestServer } from './helpers/server.js';

type Server = Awaited<ReturnType<typeof startTestServer>>;
type Box = [number, number, number, number];

interface Drawn {
  text: string;
  x: number;
  y: number;
  size: number;
}

const WIDTH = 640;
const HEIGHT = 360;

/** Black DejaVu Sans on white, rendered by sharp (librsvg) from SVG. */
const svg = (lines: readonly Drawn[]) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}"><rect width="100%" height="100%" fill="white"/>` +
  lines.map((l) => `<text x="${l.x}" y="${l.y}" font-family="DejaVu Sans" font-size="${l.size}" fill="black">${l.text}</text>`).join('') +
  '</svg>';

const render = (lines: readonly Drawn[]) =>
  sharp(Buffer.from(svg(lines)))
    .png()
    .toBuffer();

/** Where a line's ink is: the bounds of its dark pixels, rendered alone, as a labeller would draw its box. */
async function inkBox(line: Drawn): Promise<Box> {
  const { data } = await sharp(Buffer.from(svg([line])))
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const box: Box = [WIDTH, HEIGHT, 0, 0];
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      if (data[y * WIDTH + x] >= 128) continue;
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x + 1);
      box[3] = Math.max(box[3], y + 1);
    }
  }
  return box;
}

const INVOICE: Drawn[] = [
  { text: 'Invoice 2026-0417', x: 40, y: 70, size: 36 },
  { text: 'Total due 1,280.00 EUR', x: 40, y: 150, size: 28 },
  { text: 'Delivery on Monday', x: 40, y: 220, size: 28 },
  { text: 'Thank you for your order', x: 40, y: 300, size: 24 },
];
const NOTICE: Drawn[] = [
  { text: 'Keep away from heat', x: 40, y: 80, size: 30 },
  { text: 'Batch 42 of 97', x: 40, y: 170, size: 30 },
  { text: 'Made in Portugal', x: 40, y: 260, size: 30 },
];

let server: Server;

beforeAll(async () => {
  const { repo, ocr } = ocrRepo('sightline-ocr-eval-');
  // The same steps answering regions with a confidence but no text: not something OCR metrics can read.
  writePipeline(repo, 'regions', { ...ocr, output: { items: 'upright', as: 'regions', fields: { confidence: 'recognize.confidence' } } });

  const datasets = mkdtempSync(path.join(os.tmpdir(), 'sightline-ocr-sets-'));
  const invoice = await render(INVOICE);
  const notice = await render(NOTICE);
  const [heat, batch] = await Promise.all(NOTICE.slice(0, 2).map(inkBox));
  const invoiceLabels = await Promise.all(INVOICE.map(async (l) => paddleLabel(l.text, await inkBox(l))));
  // The notice: a typing error in one label, a line marked not to be read, and a line nobody labelled.
  const noticeLabels = [paddleLabel('Keep away from heet', heat), paddleLabel('###', batch)];
  mkdirSync(path.join(datasets, 'receipts'), { recursive: true });
  writeFileSync(path.join(datasets, 'receipts', 'invoice.png'), invoice);
  writeFileSync(path.join(datasets, 'receipts', 'notice.png'), notice);
  // As PPOCRLabel writes it: each image under the name of the folder that holds Label.txt.
  writeFileSync(
    path.join(datasets, 'receipts', 'Label.txt'),
    `receipts/invoice.png\t${JSON.stringify(invoiceLabels)}\nreceipts/notice.png\t${JSON.stringify(noticeLabels)}\n`,
  );
  mkdirSync(path.join(datasets, 'pages'), { recursive: true });
  writeFileSync(path.join(datasets, 'pages', 'invoice.png'), invoice);
  writeFileSync(path.join(datasets, 'pages', 'labels.txt'), `invoice.png\t${INVOICE.map((l) => l.text).join(' ')}\n`);
  mkdirSync(path.join(datasets, 'directions', '0'), { recursive: true });
  writeFileSync(path.join(datasets, 'directions', '0', 'a.png'), invoice);

  server = await startTestServer({ SIGHTLINE_MODELS_DIR: repo, SIGHTLINE_DATASETS_DIR: datasets, SIGHTLINE_CALIBRATE: 'false' });
  await server.modelsLoaded;
}, 120_000);
afterAll(async () => {
  await server?.close();
});

const post = (model: string, dataset: string) =>
  fetch(`${server.url}/v1/models/${model}/evaluate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dataset }) });

const evaluate = (model: string, dataset: string) => evaluateDataset(server.url, model, dataset, 60_000);

describe('evaluating the ocr pipeline on rendered pages', () => {
  it("Label.txt: lines matched by box, the labels' own errors counted, an ignored region and an unlabelled line", async () => {
    const e = await evaluate('ocr', 'receipts');
    expect(e).toMatchObject({ status: 'succeeded', task: 'ocr', layout: 'ocr-lines', done: 2, total: 2, problems: 0 });
    const r = reportOf(e, 'ocr');
    expect(r.model).toMatchObject({ name: 'ocr', task: 'pipeline', reloaded: false });
    const m = r.metrics;
    // Every line is found where it was drawn and matched; the line under ### is read and dropped.
    expect(m.lines).toEqual({ labelled: 5, predicted: 6, matched: 5, exact: 4, missed: 0, extra: 1, ignoredRegions: 1, droppedPredictions: 1 });
    expect([m.matching, m.images, m.precision, m.recall]).toEqual(['lines', 2, 5 / 6, 1]);
    // 100 labelled characters; as measured (CER 0.17), the only edits are those the labels make:
    // "heet" for the "heat" read (1) and the 16 characters of the unlabelled line, inserted.
    expect(m.characters.reference).toBe(100);
    expect(m.words.reference).toBe(18);
    expect(m.cer).toBeGreaterThanOrEqual(17 / 100);
    expect(m.cer).toBeLessThanOrEqual(0.19);
    expect(m.worst.slice(0, 2)).toEqual([
      { file: 'notice.png', expected: '', predicted: 'Made in Portugal', characterEdits: 16, wordEdits: 3 },
      { file: 'notice.png', expected: 'Keep away from heet', predicted: 'Keep away from heat', characterEdits: 1, wordEdits: 1 },
    ]);
    expect(e.summary).toMatchObject({ cer: m.cer, wer: m.wer, exactLineAccuracy: 4 / 6, precision: 5 / 6, recall: 1, evaluated: 2 });
  }, 120_000);

  it("labels.txt: each page's text against its lines read in order", async () => {
    const e = await evaluate('ocr', 'pages');
    expect(e).toMatchObject({ status: 'succeeded', task: 'ocr', layout: 'labels-txt', done: 1, problems: 0 });
    const m = reportOf(e, 'ocr').metrics;
    expect(m).toMatchObject({ matching: 'page', images: 1, lines: null, precision: null });
    expect(m.characters.reference).toBe(84);
    // As measured: the page is read exactly.
    expect(m.cer).toBeLessThanOrEqual(0.02);
    expect(m.exactLineAccuracy).toBe(1);
  }, 120_000);

  it('refuses a pipeline without text lines, and datasets of another task', async () => {
    const cases: Array<[string, string, string]> = [
      ['regions', 'receipts', 'regions is a pipeline whose answer holds no text lines with geometry'],
      ['ocr', 'directions', "dataset directions is laid out as imagefolder (classify), but the model's task is ocr"],
      ['text-recognize', 'receipts', "dataset receipts is laid out as ocr-lines (ocr), but the model's task is text-recognize"],
    ];
    for (const [model, dataset, message] of cases) {
      const res = await post(model, dataset);
      expect(res.status, `${model} on ${dataset}`).toBe(400);
      const body = (await res.json()) as ErrorAnswer;
      expect(body.error.message).toContain(message);
    }
  });
});
