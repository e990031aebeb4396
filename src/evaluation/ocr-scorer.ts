import type { Prediction } from '../engine/predictor.js';
import type { PipelineSpec } from '../pipelines/manifest.js';
import type { Dataset, DatasetProblem, OcrTruthLine } from './dataset.js';
import type { Box } from './detect-metrics.js';
import { type OcrPage, ocrLineMetrics, ocrPageMetrics, type PredictedLine } from './ocr-metrics.js';
import type { TextSample } from './text-metrics.js';

/**
 * The answer field holding a pipeline's text lines, when it answers them as the `ocr` pipeline
 * does: items with a `text` field and their geometry (`points`, `box`); undefined otherwise.
 */
export function ocrLinesField(pipeline: PipelineSpec): string | undefined {
  return pipeline.output.geometry && pipeline.output.fields.text !== undefined ? pipeline.output.as : undefined;
}

const isBox = (b: unknown): b is Box => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v));

/**
 * The answer's lines, their text or "" for a line found but not read (a step failed for it):
 * all of them for the page's text, those with a box for matching (a pipeline that answers
 * geometry gives every line one).
 */
function answeredLines(value: unknown, field: string): { placed: PredictedLine[]; texts: string[] } | undefined {
  const raw = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[field] : undefined;
  if (!Array.isArray(raw)) return undefined;
  const placed: PredictedLine[] = [];
  const texts: string[] = [];
  for (const item of raw as Array<Record<string, unknown> | null>) {
    const text = typeof item?.text === 'string' ? item.text : '';
    texts.push(text);
    if (isBox(item?.box)) placed.push({ text, box: item.box });
  }
  return { placed, texts };
}

/** A labelled line outside the image it labels (half a pixel of slack for rounding). */
function outside(lines: readonly OcrTruthLine[], width: number, height: number): OcrTruthLine | undefined {
  return lines.find((l) => l.box[0] < -0.5 || l.box[1] < -0.5 || l.box[2] > width + 0.5 || l.box[3] > height + 0.5);
}

export function ocrScorer(dataset: Extract<Dataset, { task: 'ocr' }>, linesField: string) {
  const pages = new Array<OcrPage | undefined>(dataset.samples.length);
  const texts = new Array<TextSample | undefined>(dataset.samples.length);
  return {
    score(i: number, prediction: Prediction): DatasetProblem | undefined {
      const sample = dataset.samples[i];
      const answered = answeredLines(prediction.value, linesField);
      if (answered === undefined) return { file: sample.file, message: `the model answered no "${linesField}"` };
      if ('page' in sample) {
        texts[i] = { file: sample.file, expected: sample.page, predicted: answered.texts.filter((t) => t.trim() !== '').join(' ') };
        return undefined;
      }
      const off = outside(sample.lines, prediction.width, prediction.height);
      if (off !== undefined)
        return {
          file: sample.file,
          message: `line ${JSON.stringify(off.text)} [${off.box.join(', ')}] is outside the ${prediction.width}×${prediction.height} image`,
        };
      pages[i] = { file: sample.file, truth: sample.lines, predicted: answered.placed };
      return undefined;
    },
    metrics() {
      if (dataset.layout === 'labels-txt') return ocrPageMetrics(texts.filter((t): t is TextSample => t !== undefined));
      return ocrLineMetrics(pages.filter((p): p is OcrPage => p !== undefined));
    },
  };
}
