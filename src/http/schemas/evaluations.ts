import { z } from 'zod';
import { DATASET_NAME } from '../../evaluation/dataset-files.js';
import { EVALUATION_TASKS, LAYOUTS } from '../../evaluation/dataset.js';
import { EVALUATION_STATUSES } from '../../store/index.js';
import { pageOf, pageQueryShape } from './pages.js';
import { filePart, modelName, queryParameters, strictFields } from './field-types.js';

const MAX_TOP_K = 100;
const topKRule = `must be 1 to 10 integers from 1 to ${MAX_TOP_K}`;
const layoutRule = `must be one of ${LAYOUTS.join(', ')}`;
const datasetRule = 'must name a folder directly under the datasets directory (letters, digits, ".", "_", "-"; not starting with ".")';

const layout = z.enum(LAYOUTS, { error: layoutRule }).describe('the dataset layout; detected from its files when left out');
const positiveLabel = z
  .string({ error: "must be one of the model's labels" })
  .min(1)
  .max(255)
  .describe('two-label classifiers: the label scored as positive for ROC and PR (default the second)');
const topKList = z
  .array(z.int({ error: topKRule }).min(1, { error: topKRule }).max(MAX_TOP_K, { error: topKRule }), { error: topKRule })
  .min(1, { error: topKRule })
  .max(10, { error: topKRule });
const datasetName = z.string({ error: datasetRule }).regex(DATASET_NAME, { error: datasetRule });

/** The options every body form takes, as text (query string, multipart fields): `topK` is comma-separated. */
const textOptions = {
  layout: layout.optional(),
  topK: z
    .string({ error: topKRule })
    .regex(/^\d{1,3}(,\d{1,3}){0,9}$/, { error: topKRule })
    .transform((s) => s.split(',').map(Number))
    .pipe(topKList)
    .optional()
    .describe('top-k accuracies to report, comma-separated (default 1,5)'),
  positiveLabel: positiveLabel.optional(),
  name: z
    .string()
    .regex(DATASET_NAME, { error: 'must be letters, digits, ".", "_" or "-" (not starting with ".")' })
    .optional()
    .describe('the upload\'s name in the report (default: its top folder, or "upload")'),
};

export const evaluateParams = z.object({ name: modelName('the model to evaluate') });

/** A folder under the datasets directory, by name. */
export const evaluateJson = strictFields(
  {
    dataset: datasetName.describe('a folder directly under SIGHTLINE_DATASETS_DIR (see GET /v1/datasets)'),
    layout: layout.optional(),
    topK: topKList.optional().describe('top-k accuracies to report (default [1, 5])'),
    positiveLabel: positiveLabel.optional(),
  },
  { notObject: 'expected a JSON object with "dataset"', unknown: 'unknown field' },
).meta({ id: 'EvaluationRequest' });

/** Options of an archive upload (tar, tar.gz or zip body). */
export const evaluateQuery = queryParameters(textOptions);

/** The text fields of a multipart upload; every file part is a dataset file named by its filename (folders kept). */
export const evaluateFields = strictFields(textOptions, { notObject: 'expected form fields', unknown: 'unknown field' });
export const evaluateMultipart = evaluateFields.extend({
  files: filePart('dataset files, each named by its path in the dataset (e.g. cat/1.jpg, labels.csv); repeat the part for every file'),
});

const status = z.enum(EVALUATION_STATUSES);

export const submittedEvaluation = z.strictObject({ id: z.uuid(), status });

const headline = z
  .record(z.string(), z.number().nullable())
  .describe(
    'the headline figures: accuracy, macroF1, auc; cer, wer, exactLineAccuracy (and for OCR lines precision, recall, hmean); map50, map; meanIou; ' +
      'plus evaluated and imagesPerSecond',
  );

const evaluationFields = {
  id: z.uuid(),
  model: z.string(),
  modelVersion: z.int().nullable().describe('the version of the model it ran against (its load counter)'),
  task: z.enum(EVALUATION_TASKS).describe("the model's task, or `ocr` for an OCR pipeline"),
  dataset: z.string().describe("the folder name, or the upload's name"),
  layout: z.enum(LAYOUTS),
  status,
  done: z.int().describe('images evaluated so far'),
  total: z.int().describe('images to evaluate'),
  problems: z.int().describe('dataset entries and images reported and left out'),
  createdAt: z.int().describe('epoch milliseconds'),
  startedAt: z.int().nullable(),
  finishedAt: z.int().nullable(),
  summary: headline.nullable(),
  error: z.string().nullable().describe('why a failed evaluation failed'),
};

export const evaluationSummaryView = z
  .strictObject(evaluationFields)
  .meta({ id: 'EvaluationSummary', description: 'An evaluation as listings and events show it.' });

const ratio = z.number().nullable();
const averages = z.strictObject({ precision: ratio, recall: ratio, f1: ratio });

const classifyMetrics = z.strictObject({
  task: z.literal('classify'),
  samples: z.int(),
  accuracy: ratio,
  topK: z.array(z.strictObject({ k: z.int(), accuracy: ratio })),
  perClass: z.array(
    z.strictObject({ label: z.string(), support: z.int(), predicted: z.int(), truePositives: z.int(), precision: ratio, recall: ratio, f1: ratio }),
  ),
  macro: averages,
  weighted: averages,
  confusion: z.strictObject({ labels: z.array(z.string()), matrix: z.array(z.array(z.int())).describe('rows: true label; columns: predicted label') }),
  binary: z
    .strictObject({
      positive: z.string(),
      positives: z.int(),
      negatives: z.int(),
      roc: z.array(z.strictObject({ threshold: z.number().nullable(), fpr: z.number(), tpr: z.number() })),
      auc: ratio,
      pr: z.array(z.strictObject({ threshold: z.number(), precision: z.number(), recall: z.number() })),
      averagePrecision: ratio,
    })
    .nullable()
    .describe('two-label models: the threshold sweep'),
  misclassified: z.array(z.strictObject({ file: z.string(), truth: z.string(), predicted: z.string(), confidence: z.number() })).describe('up to 100 examples'),
});

const textSample = z.strictObject({ file: z.string(), expected: z.string(), predicted: z.string(), characterEdits: z.int(), wordEdits: z.int() });
const textMetrics = z.strictObject({
  task: z.literal('text-recognize'),
  samples: z.int(),
  cer: ratio,
  wer: ratio,
  exactLineAccuracy: ratio,
  characters: z.strictObject({ reference: z.int(), edits: z.int() }),
  words: z.strictObject({ reference: z.int(), edits: z.int() }),
  worst: z.array(textSample).describe('the lines with the most character edits'),
});

const ocrMetrics = z.strictObject({
  task: z.literal('ocr'),
  matching: z
    .enum(['lines', 'page'])
    .describe("`lines`: labelled lines matched to the answer's by box IoU (ocr-lines); `page`: each image's whole text (labels-txt)"),
  images: z.int(),
  iouThreshold: z.number().nullable().describe('lines: the box IoU a predicted line needs to match a labelled one'),
  cer: ratio.describe('character edits over labelled characters; a missed line is deleted, an extra one inserted'),
  wer: ratio,
  exactLineAccuracy: ratio.describe('lines: matched lines read exactly over pairs, missed and extra lines; page: images read exactly'),
  characters: z.strictObject({ reference: z.int(), edits: z.int() }),
  words: z.strictObject({ reference: z.int(), edits: z.int() }),
  precision: ratio.describe('lines: line detection, matched over predicted'),
  recall: ratio.describe('lines: matched over labelled'),
  hmean: ratio,
  lines: z
    .strictObject({
      labelled: z.int(),
      predicted: z.int(),
      matched: z.int(),
      exact: z.int(),
      missed: z.int(),
      extra: z.int(),
      ignoredRegions: z.int().describe('labelled `###` or `*`: not to be read'),
      droppedPredictions: z.int().describe('predicted lines over an ignored region, counted nowhere'),
    })
    .nullable(),
  worst: z.array(textSample).describe('the lines (or pages) with the most character edits; a missed line reads "", an extra one expects ""'),
});

const detectMetrics = z.strictObject({
  task: z.literal('detect'),
  images: z.int(),
  iouThresholds: z.array(z.number()),
  map50: ratio,
  map: ratio,
  precision: ratio,
  recall: ratio,
  truePositives: z.int(),
  detections: z.int(),
  groundTruth: z.int(),
  perClass: z.array(
    z.strictObject({
      label: z.string(),
      groundTruth: z.int(),
      detections: z.int(),
      ap50: ratio,
      ap: ratio,
      precision: ratio,
      recall: ratio,
      curve: z.array(z.number()).nullable().describe('interpolated precision at recall 0, 0.01, …, 1 (IoU 0.5)'),
    }),
  ),
});

const segmentMetrics = z.strictObject({
  task: z.literal('segment'),
  images: z.int(),
  pixels: z.int(),
  pixelAccuracy: ratio,
  meanIou: ratio,
  perClass: z.array(z.strictObject({ label: z.string(), truthPixels: z.int(), predictedPixels: z.int(), intersection: z.int(), union: z.int(), iou: ratio })),
});

const latency = z.strictObject({ p50: ratio, p99: ratio, mean: ratio, max: ratio });

export const evaluationReport = z
  .strictObject({
    model: z.strictObject({ name: z.string(), task: z.string(), version: z.int().nullable(), versionAtEnd: z.int().nullable(), reloaded: z.boolean() }),
    dataset: z.strictObject({ name: z.string(), source: z.enum(['folder', 'upload']), layout: z.enum(LAYOUTS), files: z.int(), samples: z.int() }),
    images: z.strictObject({ total: z.int(), evaluated: z.int(), leftOut: z.int() }),
    problems: z.strictObject({ count: z.int(), listed: z.array(z.strictObject({ file: z.string(), message: z.string() })).describe('the first 1000') }),
    metrics: z.discriminatedUnion('task', [classifyMetrics, textMetrics, detectMetrics, segmentMetrics, ocrMetrics]),
    timing: z.strictObject({
      wallMs: z.number(),
      imagesPerSecond: ratio,
      latencyMs: latency.describe('per image: decode, queue and inference'),
      queueMs: latency,
      inferMs: latency,
    }),
    options: z.strictObject({ topK: z.array(z.int()).optional(), positiveLabel: z.string().optional() }),
  })
  .meta({ id: 'EvaluationReport' });

export const evaluationView = z
  .strictObject({ ...evaluationFields, report: evaluationReport.nullable().describe('once succeeded') })
  .meta({ id: 'Evaluation', description: 'An evaluation with its report.' });

export const evaluationPage = pageOf(evaluationSummaryView, 'newest first');

export const evaluationParams = z.object({ id: z.string().describe('the evaluation id (a UUID)') });

export const listEvaluationsQuery = queryParameters({
  model: z.string().optional().describe('only evaluations of this model'),
  ...pageQueryShape,
});

export const datasetList = z.strictObject({
  items: z.array(z.strictObject({ name: z.string() })).describe('folders directly under the datasets directory, by name'),
});
