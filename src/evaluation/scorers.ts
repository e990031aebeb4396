import type { Prediction } from '../engine/predictor.js';
import { classifyMetrics, type ClassifyMetrics, type ClassifySample } from './classify-metrics.js';
import type { Dataset, DatasetProblem, DetectSampleSpec } from './dataset.js';
import { type Box, detectMetrics, type DetectImage, type DetectMetrics } from './detect-metrics.js';
import { decodeClassMask } from './mask-decode.js';
import type { OcrMetrics } from './ocr-metrics.js';
import { ocrScorer } from './ocr-scorer.js';
import { type LabelledPolygon, rasterizePolygons } from './polygon-raster.js';
import { SegmentAccumulator, type SegmentMetrics } from './segment-metrics.js';
import { textMetrics, type TextMetrics } from './text-metrics.js';

/** What a model's head says about how to read its answers. */
export interface ModelFacts {
  /** Class labels in the model's order (classify, detect, segment). */
  labels: readonly string[];
  /** Segment: the class index of pixels no polygon covers. */
  background: number;
  /** OCR pipelines: the answer field holding the text lines. */
  linesField?: string;
}

export interface ScoreOptions {
  /** Classify: top-k accuracies to report. */
  topK?: readonly number[];
  /** Classify with two labels: the positive one. */
  positiveLabel?: string;
}

/** A misclassified sample, for the report's list of examples. */
export interface Misclassified {
  file: string;
  truth: string;
  predicted: string;
  confidence: number;
}

export type TaskMetrics = (ClassifyMetrics & { misclassified: Misclassified[] }) | TextMetrics | DetectMetrics | SegmentMetrics | OcrMetrics;

/**
 * Turns each sample's prediction into what its task's metrics need. Samples may be scored in
 * any order; the metrics see them in dataset order, so ties break the same way every run.
 */
export interface Scorer {
  /** Scores sample `index`; a problem leaves the sample out of the metrics. */
  score(index: number, prediction: Prediction): DatasetProblem | undefined | Promise<DatasetProblem | undefined>;
  metrics(): TaskMetrics;
}

const MAX_MISCLASSIFIED = 100;

type Answer = Record<string, unknown>;
const answerOf = (p: Prediction): Answer => (p.value !== null && typeof p.value === 'object' ? (p.value as Answer) : {});

function classifyScorer(dataset: Extract<Dataset, { task: 'classify' }>, facts: ModelFacts, options: ScoreOptions): Scorer {
  const { labels } = facts;
  const index = new Map(labels.map((l, i) => [l, i]));
  const scored = new Array<(ClassifySample & { confidence: number }) | undefined>(dataset.samples.length);
  return {
    score(i, prediction) {
      const answer = answerOf(prediction);
      const predicted = index.get(String(answer.label));
      const probabilities = answer.probabilities as Record<string, number> | undefined;
      if (predicted === undefined || probabilities === undefined) return { file: dataset.samples[i].file, message: 'the model answered no label of its own' };
      scored[i] = {
        truth: dataset.samples[i].label,
        predicted,
        probabilities: labels.map((l) => probabilities[l] ?? 0),
        confidence: Number(answer.confidence),
      };
      return undefined;
    },
    metrics() {
      const samples: ClassifySample[] = [];
      const misclassified: Misclassified[] = [];
      scored.forEach((s, i) => {
        if (s === undefined) return;
        samples.push(s);
        if (s.truth !== s.predicted && misclassified.length < MAX_MISCLASSIFIED) {
          misclassified.push({ file: dataset.samples[i].file, truth: labels[s.truth], predicted: labels[s.predicted], confidence: s.confidence });
        }
      });
      return { ...classifyMetrics(labels, samples, options), misclassified };
    },
  };
}

function textScorer(dataset: Extract<Dataset, { task: 'text-recognize' }>): Scorer {
  const predicted = new Array<string | undefined>(dataset.samples.length);
  return {
    score(i, prediction) {
      const text = answerOf(prediction).text;
      if (typeof text !== 'string') return { file: dataset.samples[i].file, message: 'the model answered no text' };
      predicted[i] = text;
      return undefined;
    },
    metrics() {
      const samples = dataset.samples.flatMap((s, i) => (predicted[i] === undefined ? [] : [{ file: s.file, expected: s.text, predicted: predicted[i] }]));
      return textMetrics(samples);
    },
  };
}

/** Truth boxes in image pixels: YOLO fractions scaled, COCO boxes checked against the real size. */
function truthInPixels(sample: DetectSampleSpec, width: number, height: number): { truth: DetectImage['truth'] } | { problem: string } {
  if (sample.declaredSize !== undefined && (sample.declaredSize.width !== width || sample.declaredSize.height !== height)) {
    return { problem: `the annotations say ${sample.declaredSize.width}×${sample.declaredSize.height} but the image is ${width}×${height}` };
  }
  if (sample.normalised) {
    return { truth: sample.truth.map((t) => ({ label: t.label, box: [t.box[0] * width, t.box[1] * height, t.box[2] * width, t.box[3] * height] as Box })) };
  }
  const outside = sample.truth.find((t) => t.box[2] > width + 0.5 || t.box[3] > height + 0.5);
  if (outside !== undefined) return { problem: `box [${outside.box.join(', ')}] is outside the ${width}×${height} image` };
  return { truth: sample.truth };
}

function detectScorer(dataset: Extract<Dataset, { task: 'detect' }>, facts: ModelFacts): Scorer {
  const index = new Map(facts.labels.map((l, i) => [l, i]));
  const images = new Array<DetectImage | undefined>(dataset.samples.length);
  return {
    score(i, prediction) {
      const sample = dataset.samples[i];
      const truth = truthInPixels(sample, prediction.width, prediction.height);
      if ('problem' in truth) return { file: sample.file, message: truth.problem };
      const raw = answerOf(prediction).detections;
      if (!Array.isArray(raw)) return { file: sample.file, message: 'the model answered no detections' };
      const detections = (raw as Array<{ label: string; score: number; box: Box }>).flatMap((d) => {
        const label = index.get(d.label);
        return label === undefined ? [] : [{ label, score: d.score, box: d.box }];
      });
      images[i] = { truth: truth.truth, detections };
      return undefined;
    },
    metrics() {
      return detectMetrics(
        facts.labels,
        images.filter((x): x is DetectImage => x !== undefined),
      );
    },
  };
}

function segmentScorer(dataset: Extract<Dataset, { task: 'segment' }>, facts: ModelFacts): Scorer {
  const index = new Map(facts.labels.map((l, i) => [l, i]));
  const accumulator = new SegmentAccumulator(facts.labels);
  // Pixel counts add up the same in any order, so images are added as they come.
  return {
    async score(i, prediction) {
      const sample = dataset.samples[i];
      let mask;
      try {
        mask = await decodeClassMask(await dataset.files.read(sample.mask));
      } catch (err) {
        return { file: sample.mask, message: `unreadable mask: ${(err as Error).message}` };
      }
      if (mask.width !== prediction.width || mask.height !== prediction.height) {
        return { file: sample.mask, message: `the mask is ${mask.width}×${mask.height} but its image is ${prediction.width}×${prediction.height}` };
      }
      const raw = answerOf(prediction).polygons;
      if (!Array.isArray(raw)) return { file: sample.file, message: 'the model answered no polygons' };
      const answered = raw as Array<{ label: string; points: [number, number][]; holes: [number, number][][] }>;
      const polygons: LabelledPolygon[] = answered.flatMap((p) => {
        const label = index.get(p.label);
        return label === undefined ? [] : [{ label, points: p.points, holes: p.holes }];
      });
      const predicted = rasterizePolygons(polygons, mask.width, mask.height, facts.background);
      const { unknownPixels } = accumulator.add(mask.data, predicted);
      if (unknownPixels > 0)
        return {
          file: sample.mask,
          message: `${unknownPixels} pixels hold a class index past the model's ${facts.labels.length} labels (left out; 255 is ignored)`,
        };
      return undefined;
    },
    metrics() {
      return accumulator.metrics();
    },
  };
}

export function scorerFor(dataset: Dataset, facts: ModelFacts, options: ScoreOptions): Scorer {
  switch (dataset.task) {
    case 'classify':
      return classifyScorer(dataset, facts, options);
    case 'text-recognize':
      return textScorer(dataset);
    case 'detect':
      return detectScorer(dataset, facts);
    case 'segment':
      return segmentScorer(dataset, facts);
    case 'ocr':
      return ocrScorer(dataset, facts.linesField ?? 'lines');
  }
}

/** The headline figures of a report, kept beside it for listings and CI gates. */
export function summaryOf(metrics: TaskMetrics): Record<string, number | null> {
  switch (metrics.task) {
    case 'classify':
      return {
        accuracy: metrics.accuracy,
        ...Object.fromEntries(metrics.topK.filter((t) => t.k > 1).map((t) => [`top${t.k}Accuracy`, t.accuracy])),
        macroF1: metrics.macro.f1,
        ...(metrics.binary ? { auc: metrics.binary.auc } : {}),
      };
    case 'text-recognize':
      return { cer: metrics.cer, wer: metrics.wer, exactLineAccuracy: metrics.exactLineAccuracy };
    case 'detect':
      return { map50: metrics.map50, map: metrics.map, precision: metrics.precision, recall: metrics.recall };
    case 'segment':
      return { meanIou: metrics.meanIou, pixelAccuracy: metrics.pixelAccuracy };
    case 'ocr':
      return {
        cer: metrics.cer,
        wer: metrics.wer,
        exactLineAccuracy: metrics.exactLineAccuracy,
        ...(metrics.matching === 'lines' ? { precision: metrics.precision, recall: metrics.recall, hmean: metrics.hmean } : {}),
      };
  }
}
