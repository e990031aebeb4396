import { describe, expect, it } from 'vitest';
import { readDataset } from '../dist/src/evaluation/dataset-reader.js';
import { parseEvaluateArgs } from '../dist/src/evaluation/evaluate-options.js';
import type { OcrTruthLine } from '../dist/src/evaluation/dataset.js';
import type { Box } from '../dist/src/evaluation/detect-metrics.js';
import { matchLines, ocrLineMetrics, ocrPageMetrics, type OcrPage } from '../dist/src/evaluation/ocr-metrics.js';
import { scorerFor } from '../dist/src/evaluation/scorers.js';
import { memoryDataset } from './helpers/evaluations.js';
import { paddleLabel } from './helpers/ocr-labels.js';

const truth = (text: string, box: Box): OcrTruthLine => ({ text, box, ignored: text === '###' || text === '*' });
const read = (text: string, box: Box) => ({ text, box });
const page = (file: string, labelled: OcrTruthLine[], predicted: Array<{ text: string; box: Box }>): OcrPage => ({ file, truth: labelled, predicted });

describe('ocr line matching', () => {
  it('greedy by IoU, one-to-one: a prediction goes to the line it overlaps most, not to the first it overlaps enough', () => {
    // P0 overlaps T0 at 1500/2500 = 0.6 and T1 at 1; P1 overlaps T0 at 0.9 and T1 at 1300/2500 = 0.52.
    const labelled = [truth('AAA', [0, 0, 100, 20]), truth('BBB', [0, 5, 100, 25])];
    const m = matchLines(labelled, [read('BBB', [0, 5, 100, 25]), read('AAA', [0, 0, 100, 18])]);
    expect(m).toEqual({
      pairs: [
        { truth: 1, predicted: 0, iou: 1 },
        { truth: 0, predicted: 1, iou: 0.9 },
      ],
      missed: [],
      extra: [],
      dropped: [],
    });
  });

  it('equal IoUs: the earlier prediction takes the line; IoU just under 0.5 is no match', () => {
    const m = matchLines([truth('X', [0, 0, 10, 10])], [read('a', [0, 0, 10, 5]), read('b', [0, 5, 10, 10]), read('c', [0, 0, 10, 4.99])]);
    expect(m.pairs).toEqual([{ truth: 0, predicted: 0, iou: 0.5 }]);
    expect(m.extra).toEqual([1, 2]);
  });
});

describe('ocr metrics over matched lines', () => {
  // Both read, one with a substituted character: 1 edit over 13 characters, 1 word of 3.
  const substituted = page(
    'a.png',
    [truth('HELLO', [0, 0, 100, 20]), truth('WORLD 42', [0, 30, 100, 50])],
    [read('HELLO', [2, 0, 100, 20]), read('W0RLD 42', [0, 30, 90, 50])],
  );
  // One line read, one extra line where nothing is labelled: its 3 characters are insertions.
  const extra = page('b.png', [truth('CAT', [0, 0, 30, 10])], [read('CAT', [0, 0, 30, 10]), read('DOG', [50, 50, 80, 60])]);

  it('CER, WER, exact lines and line detection of one page', () => {
    const m = ocrLineMetrics([substituted]);
    expect(m).toEqual({
      task: 'ocr',
      matching: 'lines',
      images: 1,
      iouThreshold: 0.5,
      cer: 1 / 13,
      wer: 1 / 3,
      exactLineAccuracy: 0.5,
      characters: { reference: 13, edits: 1 },
      words: { reference: 3, edits: 1 },
      precision: 1,
      recall: 1,
      hmean: 1,
      lines: { labelled: 2, predicted: 2, matched: 2, exact: 1, missed: 0, extra: 0, ignoredRegions: 0, droppedPredictions: 0 },
      worst: [{ file: 'a.png', expected: 'WORLD 42', predicted: 'W0RLD 42', characterEdits: 1, wordEdits: 1 }],
    });
  });

  it('extra predictions are insertions and false detections', () => {
    const m = ocrLineMetrics([extra]);
    expect([m.cer, m.wer, m.exactLineAccuracy, m.precision, m.recall, m.hmean]).toEqual([1, 1, 0.5, 0.5, 1, 2 / 3]);
    expect(m.worst).toEqual([{ file: 'b.png', expected: '', predicted: 'DOG', characterEdits: 3, wordEdits: 1 }]);
  });

  it('sums over pages before dividing', () => {
    const m = ocrLineMetrics([substituted, extra]);
    expect(m.characters).toEqual({ reference: 16, edits: 4 });
    expect(m.words).toEqual({ reference: 4, edits: 2 });
    expect([m.cer, m.wer, m.exactLineAccuracy, m.precision, m.recall]).toEqual([0.25, 0.5, 0.5, 0.75, 1]);
    expect(m.lines).toMatchObject({ labelled: 3, predicted: 4, matched: 3, exact: 2, missed: 0, extra: 1 });
    // Most edits first: the extra line (3), then the substitution (1).
    expect(m.worst.map((w) => [w.file, w.characterEdits])).toEqual([
      ['b.png', 3],
      ['a.png', 1],
    ]);
  });

  it('no predictions: every labelled line is deleted; precision has nothing to divide by', () => {
    const m = ocrLineMetrics([page('c.png', [truth('AB CD', [0, 0, 50, 10]), truth('E', [0, 20, 10, 30])], [])]);
    expect(m).toMatchObject({ cer: 1, wer: 1, exactLineAccuracy: 0, precision: null, recall: 0, hmean: null });
    expect(m.characters).toEqual({ reference: 6, edits: 6 });
    expect(m.lines).toMatchObject({ labelled: 2, predicted: 0, matched: 0, missed: 2, extra: 0 });
  });

  it('a line read as two pieces, neither at IoU 0.5: one deletion and two insertions', () => {
    // Each half overlaps the labelled line at 50/110.
    const m = ocrLineMetrics([page('d.png', [truth('HELLO WORLD', [0, 0, 110, 20])], [read('HELLO', [0, 0, 50, 20]), read('WORLD', [60, 0, 110, 20])])]);
    expect(m.characters).toEqual({ reference: 11, edits: 21 });
    expect(m.words).toEqual({ reference: 2, edits: 4 });
    expect([m.cer, m.wer, m.exactLineAccuracy, m.precision, m.recall, m.hmean]).toEqual([21 / 11, 2, 0, 0, 0, 0]);
  });

  it('a line read as two pieces, the larger at IoU 0.82: it matches, the rest is an insertion', () => {
    const m = ocrLineMetrics([page('e.png', [truth('HELLO WORLD', [0, 0, 110, 20])], [read('HELLO WOR', [0, 0, 90, 20]), read('LD', [92, 0, 110, 20])])]);
    // "HELLO WOR" for "HELLO WORLD": 2 characters and 1 word; "LD" inserted: 2 characters and 1 word.
    expect(m.characters).toEqual({ reference: 11, edits: 4 });
    expect(m.words).toEqual({ reference: 2, edits: 2 });
    expect([m.cer, m.wer, m.exactLineAccuracy, m.precision, m.recall]).toEqual([4 / 11, 1, 0, 0.5, 1]);
  });

  it('a region labelled ### is not read: a prediction over it counts nowhere, nor does the region', () => {
    const m = ocrLineMetrics([
      page('f.png', [truth('###', [0, 0, 50, 20]), truth('OK', [0, 40, 20, 50])], [read('smudge', [0, 0, 50, 20]), read('OK', [0, 40, 20, 50])]),
    ]);
    expect([m.cer, m.exactLineAccuracy, m.precision, m.recall]).toEqual([0, 1, 1, 1]);
    expect(m.lines).toEqual({ labelled: 1, predicted: 1, matched: 1, exact: 1, missed: 0, extra: 0, ignoredRegions: 1, droppedPredictions: 1 });
  });

  it('leading and trailing spaces are not errors; no labelled text leaves the rates undefined', () => {
    expect(ocrLineMetrics([page('g.png', [truth(' hi ', [0, 0, 10, 10])], [read('hi', [0, 0, 10, 10])])]).cer).toBe(0);
    const empty = ocrLineMetrics([page('h.png', [], [read('noise', [0, 0, 10, 10])])]);
    expect([empty.cer, empty.wer, empty.exactLineAccuracy, empty.precision, empty.recall]).toEqual([null, null, 0, 0, null]);
    expect(ocrLineMetrics([])).toMatchObject({ images: 0, cer: null, exactLineAccuracy: null, precision: null, recall: null });
  });

  it('whole pages: the text of each image against its label', () => {
    const m = ocrPageMetrics([
      { file: 'p.png', expected: 'Invoice 42 Total', predicted: 'Invoice 42 Tota1' },
      { file: 'q.png', expected: 'Thank you', predicted: 'Thank you' },
    ]);
    expect(m).toMatchObject({ task: 'ocr', matching: 'page', images: 2, cer: 1 / 25, wer: 1 / 5, exactLineAccuracy: 0.5, precision: null, lines: null });
  });
});

const PNG = Buffer.from('decoded only when evaluated');

describe('ocr datasets', () => {
  it("Label.txt (PaddleOCR's detection labels): lines with their polygons' bounds; PPOCRLabel's folder prefix; bad lines reported", async () => {
    const label = [
      `receipts/a.png\t${JSON.stringify([paddleLabel('Total 12', [10, 20, 90, 40]), paddleLabel('###', [0, 50, 30, 60])])}`,
      // A slanted line of five points: its box is their bounds.
      `b.png\t[{"transcription": "Slant", "points": [[10, 30], [60, 10], [64, 20], [14, 40], [12, 35]]}]`,
      'c.png\t[]',
      'a.png\t[]',
      'd.png\tnot json',
      'e.png\t[{"transcription": "x", "points": [[0, 0], [1, 1]]}]',
      'f.png\t{"transcription": "x"}',
      'gone.png\t[]',
      'no tab',
      '',
    ].join('\n');
    const files = memoryDataset('receipts', { 'Label.txt': label, ...Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => [`${n}.png`, PNG])) });
    const d = await readDataset(files, { task: 'ocr', labels: [] });
    expect([d.layout, d.task]).toEqual(['ocr-lines', 'ocr']);
    expect(d.samples).toEqual([
      {
        file: 'a.png',
        lines: [
          { text: 'Total 12', box: [10, 20, 90, 40], ignored: false },
          { text: '###', box: [0, 50, 30, 60], ignored: true },
        ],
      },
      { file: 'b.png', lines: [{ text: 'Slant', box: [10, 10, 64, 40], ignored: false }] },
      { file: 'c.png', lines: [] },
    ]);
    expect(d.problems).toEqual([
      { file: 'a.png', message: 'labelled again on Label.txt:4 (first on Label.txt:1); the first labels are used' },
      { file: 'd.png', message: expect.stringMatching(/^Label\.txt:5: the labels are not JSON \(/) },
      { file: 'e.png', message: 'Label.txt:6: entry 1: "points" must be at least 3 [x, y] pairs of numbers' },
      { file: 'f.png', message: 'Label.txt:7: expected a JSON list of lines' },
      { file: 'gone.png', message: 'missing: named on Label.txt:8 but not in the dataset' },
      { file: 'Label.txt:9', message: 'expected image<TAB>[{"transcription": …, "points": …}, …]' },
    ]);
  });

  it("labels.txt for an OCR pipeline: each image's whole text; Label.txt beside it wins unless the model is a recogniser", async () => {
    const files = memoryDataset('pages', { 'labels.txt': 'a.png\tInvoice 42 Total due\n', 'a.png': PNG });
    const d = await readDataset(files, { task: 'ocr', labels: [] });
    expect([d.layout, d.task, d.samples]).toEqual(['labels-txt', 'ocr', [{ file: 'a.png', page: 'Invoice 42 Total due' }]]);

    const both = memoryDataset('both', {
      'labels.txt': 'a.png\tInvoice\n',
      'Label.txt': `a.png\t${JSON.stringify([paddleLabel('Invoice', [0, 0, 10, 10])])}\n`,
      'a.png': PNG,
    });
    expect((await readDataset(both, { task: 'ocr', labels: [] })).layout).toBe('ocr-lines');
    expect((await readDataset(both, { task: 'text-recognize', labels: [] })).layout).toBe('labels-txt');
    expect((await readDataset(both, { task: 'ocr', labels: [], layout: 'labels-txt' })).samples).toEqual([{ file: 'a.png', page: 'Invoice' }]);
    const lines = memoryDataset('lines', { 'Label.txt': 'a.png\t[]\n' });
    await expect(readDataset(lines, { task: 'text-recognize', labels: [] })).rejects.toMatchObject({
      status: 400,
      message: "dataset lines is laid out as ocr-lines (ocr), but the model's task is text-recognize",
    });
    await expect(readDataset(files, { task: 'ocr', labels: [], layout: 'ocr-lines' })).rejects.toMatchObject({
      status: 400,
      message: 'layout ocr-lines: the dataset has no Label.txt',
    });
  });
});

describe('the ocr scorer', () => {
  const prediction = (value: unknown) => ({ value, width: 100, height: 60, queueMs: 0, inferMs: 0, batchSize: 1 });

  it("reads the pipeline's lines field; a labelled line outside the image and an answer without lines are problems", async () => {
    const label = [
      `a.png\t${JSON.stringify([paddleLabel('Total 12', [10, 20, 90, 40])])}`,
      `b.png\t${JSON.stringify([paddleLabel('Far', [10, 20, 120, 40])])}`,
      'c.png\t[]',
    ].join('\n');
    const files = memoryDataset('set', { 'Label.txt': label, ...Object.fromEntries(['a', 'b', 'c'].map((n) => [`${n}.png`, PNG])) });
    const dataset = await readDataset(files, { task: 'ocr', labels: [] });
    const scorer = scorerFor(dataset, { labels: [], background: 0, linesField: 'rows' }, {});
    const answer = {
      rows: [
        { text: 'Total 12', confidence: 0.99, points: [], box: [11, 20, 90, 41] },
        { error: { code: 'failed' }, box: [0, 45, 20, 55] },
      ],
    };
    expect(await scorer.score(0, prediction(answer))).toBeUndefined();
    expect(await scorer.score(1, prediction(answer))).toEqual({ file: 'b.png', message: 'line "Far" [10, 20, 120, 40] is outside the 100×60 image' });
    expect(await scorer.score(2, prediction({ lines: [] }))).toEqual({ file: 'c.png', message: 'the model answered no "rows"' });
    const m = scorer.metrics();
    // The line that failed to be read is a detected line with no text: an extra of no characters.
    expect(m).toMatchObject({ task: 'ocr', images: 1, cer: 0, precision: 0.5, recall: 1, lines: { matched: 1, extra: 1 } });
  });
});

describe('sightline evaluate gates for OCR', () => {
  it('text gates and the line recall gate go together; a gate of another task does not', () => {
    const o = parseEvaluateArgs(['--model', 'ocr', '--dataset', 'pages', '--max-cer', '0.05', '--min-exact', '0.8', '--min-line-recall', '0.9']);
    expect(o.gates.map((g) => [g.flag, g.metric, g.bound])).toEqual([
      ['--max-cer', 'cer', 0.05],
      ['--min-exact', 'exactLineAccuracy', 0.8],
      ['--min-line-recall', 'recall', 0.9],
    ]);
    expect(() => parseEvaluateArgs(['--model', 'ocr', '--dataset', 'pages', '--min-line-recall', '0.9', '--min-map', '0.5'])).toThrow(
      'gates of different tasks: --min-map, --min-line-recall',
    );
  });
});
