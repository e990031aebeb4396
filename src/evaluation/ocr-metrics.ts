/**
 * OCR metrics: a page's predicted lines are matched to its labelled ones, then read like text
 * recognition. Matching is one-to-one by the IoU of the lines' boxes (axis-aligned bounds of
 * their polygons): every pair at IoU ≥ 0.5, best IoU first (ties: labelled line, then predicted
 * line, in their order), taken while both lines are free. A matched pair's text is compared as
 * text-recognize compares a line; a labelled line left unmatched counts as deleted (all its
 * characters and words are edits), a predicted line left unmatched as inserted. CER and WER are
 * those edits over the labelled characters and words of the whole set; exact-line accuracy is
 * the matched pairs read exactly over every pair, missed line and extra line. A prediction
 * unmatched by a labelled line but over a region labelled `###` or `*` is dropped: neither an
 * insertion nor a false detection. Line detection precision and recall count the matches.
 */
import { type Box, boxIou } from './detect-metrics.js';
import type { OcrTruthLine } from './dataset.js';
import { characters, editDistance, type TextMetrics, type TextSample, type TextSampleResult, textMetrics, words } from './text-metrics.js';

export const LINE_IOU_THRESHOLD = 0.5;

/** A line the model answered: its text (empty when it was found but not read) and box. */
export interface PredictedLine {
  text: string;
  box: Box;
}

export interface OcrPage {
  file: string;
  truth: readonly OcrTruthLine[];
  predicted: readonly PredictedLine[];
}

/** How a page's lines were paired: indices into its truth and predicted lines. */
export interface LineMatching {
  pairs: Array<{ truth: number; predicted: number; iou: number }>;
  /** Labelled lines (not ignored) no prediction matched. */
  missed: number[];
  /** Predicted lines matched to nothing and not over an ignored region. */
  extra: number[];
  /** Predicted lines over an ignored region. */
  dropped: number[];
}

export function matchLines(truth: readonly OcrTruthLine[], predicted: readonly PredictedLine[], threshold = LINE_IOU_THRESHOLD): LineMatching {
  const candidates: Array<{ truth: number; predicted: number; iou: number }> = [];
  truth.forEach((t, ti) => {
    if (t.ignored) return;
    predicted.forEach((p, pi) => {
      const iou = boxIou(t.box, p.box);
      if (iou >= threshold) candidates.push({ truth: ti, predicted: pi, iou });
    });
  });
  candidates.sort((a, b) => b.iou - a.iou || a.truth - b.truth || a.predicted - b.predicted);
  const truthTaken = new Set<number>();
  const predictedTaken = new Set<number>();
  const pairs: LineMatching['pairs'] = [];
  for (const c of candidates) {
    if (truthTaken.has(c.truth) || predictedTaken.has(c.predicted)) continue;
    truthTaken.add(c.truth);
    predictedTaken.add(c.predicted);
    pairs.push(c);
  }
  const ignored = truth.filter((t) => t.ignored);
  const extra: number[] = [];
  const dropped: number[] = [];
  predicted.forEach((p, pi) => {
    if (predictedTaken.has(pi)) return;
    if (ignored.some((t) => boxIou(t.box, p.box) >= threshold)) dropped.push(pi);
    else extra.push(pi);
  });
  const missed = truth.flatMap((t, ti) => (t.ignored || truthTaken.has(ti) ? [] : [ti]));
  return { pairs, missed, extra, dropped };
}

export interface OcrLineCounts {
  /** Labelled lines, ignored regions left out. */
  labelled: number;
  /** Predicted lines, those over ignored regions left out. */
  predicted: number;
  matched: number;
  /** Matched pairs read exactly. */
  exact: number;
  missed: number;
  extra: number;
  /** Labelled `###` / `*` regions, and the predictions dropped over them. */
  ignoredRegions: number;
  droppedPredictions: number;
}

export interface OcrMetrics {
  task: 'ocr';
  /** `lines`: labelled lines matched to the answer's (ocr-lines); `page`: each image's whole text (labels-txt). */
  matching: 'lines' | 'page';
  images: number;
  iouThreshold: number | null;
  cer: number | null;
  wer: number | null;
  /** lines: exact pairs over pairs, missed and extra lines; page: images read exactly. */
  exactLineAccuracy: number | null;
  characters: { reference: number; edits: number };
  words: { reference: number; edits: number };
  /** Line detection (lines only): matched over predicted, matched over labelled, and their harmonic mean. */
  precision: number | null;
  recall: number | null;
  hmean: number | null;
  lines: OcrLineCounts | null;
  /**
   * The lines (or pages) with the most character edits, most first, then in dataset order: a
   * missed line reads as "", an extra one expects "".
   */
  worst: TextSampleResult[];
}

const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);

/** Edits of one aligned slot, both sides stripped as text-recognize strips them. */
function slot(file: string, expected: string, predicted: string): TextSampleResult {
  const e = expected.trim();
  const p = predicted.trim();
  return { file, expected, predicted, characterEdits: editDistance(characters(e), characters(p)), wordEdits: editDistance(words(e), words(p)) };
}

function worstOf(results: readonly TextSampleResult[], worst: number): TextSampleResult[] {
  return results
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.characterEdits > 0)
    .sort((a, b) => b.r.characterEdits - a.r.characterEdits || a.i - b.i)
    .slice(0, worst)
    .map(({ r }) => r);
}

export function ocrLineMetrics(pages: readonly OcrPage[], options: { worst?: number } = {}): OcrMetrics {
  const results: TextSampleResult[] = [];
  let refChars = 0;
  let refWords = 0;
  const counts: OcrLineCounts = { labelled: 0, predicted: 0, matched: 0, exact: 0, missed: 0, extra: 0, ignoredRegions: 0, droppedPredictions: 0 };
  for (const page of pages) {
    const m = matchLines(page.truth, page.predicted);
    for (const t of page.truth) {
      if (t.ignored) continue;
      refChars += characters(t.text.trim()).length;
      refWords += words(t.text.trim()).length;
    }
    // Slots in the page's labelled order, the extra lines after them in the answer's order.
    const byTruth = new Map(m.pairs.map((p) => [p.truth, p.predicted]));
    page.truth.forEach((t, ti) => {
      if (t.ignored) return;
      const pi = byTruth.get(ti);
      const r = slot(page.file, t.text, pi === undefined ? '' : page.predicted[pi].text);
      if (pi !== undefined && t.text.trim() === page.predicted[pi].text.trim()) counts.exact++;
      results.push(r);
    });
    for (const pi of m.extra) results.push(slot(page.file, '', page.predicted[pi].text));
    counts.labelled += page.truth.length - page.truth.filter((t) => t.ignored).length;
    counts.ignoredRegions += page.truth.filter((t) => t.ignored).length;
    counts.predicted += page.predicted.length - m.dropped.length;
    counts.droppedPredictions += m.dropped.length;
    counts.matched += m.pairs.length;
    counts.missed += m.missed.length;
    counts.extra += m.extra.length;
  }
  const charEdits = results.reduce((n, r) => n + r.characterEdits, 0);
  const wordEdits = results.reduce((n, r) => n + r.wordEdits, 0);
  const precision = ratio(counts.matched, counts.predicted);
  const recall = ratio(counts.matched, counts.labelled);
  return {
    task: 'ocr',
    matching: 'lines',
    images: pages.length,
    iouThreshold: LINE_IOU_THRESHOLD,
    cer: ratio(charEdits, refChars),
    wer: ratio(wordEdits, refWords),
    exactLineAccuracy: ratio(counts.exact, counts.matched + counts.missed + counts.extra),
    characters: { reference: refChars, edits: charEdits },
    words: { reference: refWords, edits: wordEdits },
    precision,
    recall,
    hmean: precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    lines: counts,
    worst: worstOf(results, options.worst ?? 20),
  };
}

/** Whole pages: each image's lines joined with a space, in the answer's (reading) order, read against its text. */
export function ocrPageMetrics(pages: readonly TextSample[], options: { worst?: number } = {}): OcrMetrics {
  const m: TextMetrics = textMetrics(pages, options);
  return {
    task: 'ocr',
    matching: 'page',
    images: m.samples,
    iouThreshold: null,
    cer: m.cer,
    wer: m.wer,
    exactLineAccuracy: m.exactLineAccuracy,
    characters: m.characters,
    words: m.words,
    precision: null,
    recall: null,
    hmean: null,
    lines: null,
    worst: m.worst,
  };
}
