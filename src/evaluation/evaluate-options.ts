import { flagValues, serverUrl, UsageError } from '../command-arguments.js';
import { EVALUATION_TASKS, type EvaluationTask, LAYOUTS, type Layout } from './dataset.js';

/** A CI gate: a headline figure of the report and the bound it must keep. */
export interface Gate {
  flag: string;
  /** The key in the evaluation's summary. */
  metric: string;
  /** Tasks that report it. */
  tasks: readonly EvaluationTask[];
  kind: 'min' | 'max';
  bound: number;
}

/** `sightline evaluate` arguments, checked before anything is sent. */
export interface EvaluateOptions {
  model: string;
  /** A local folder, uploaded as a tar (or, in-process, read in place). */
  dataset: string | undefined;
  /** A folder under the server's datasets directory, by name. */
  serverDataset: string | undefined;
  /** A running server; in-process when undefined. */
  url: URL | undefined;
  gates: Gate[];
  layout: Layout | undefined;
  topK: number[] | undefined;
  positiveLabel: string | undefined;
  json: string | undefined;
  markdown: string | undefined;
  apiKey: string | undefined;
  timeoutSec: number;
}

const TEXT: readonly EvaluationTask[] = ['text-recognize', 'ocr'];

const GATES: ReadonlyArray<Omit<Gate, 'bound'>> = [
  { flag: '--min-accuracy', metric: 'accuracy', tasks: ['classify'], kind: 'min' },
  { flag: '--min-f1', metric: 'macroF1', tasks: ['classify'], kind: 'min' },
  { flag: '--min-auc', metric: 'auc', tasks: ['classify'], kind: 'min' },
  { flag: '--min-map', metric: 'map', tasks: ['detect'], kind: 'min' },
  { flag: '--min-map50', metric: 'map50', tasks: ['detect'], kind: 'min' },
  { flag: '--max-cer', metric: 'cer', tasks: TEXT, kind: 'max' },
  { flag: '--max-wer', metric: 'wer', tasks: TEXT, kind: 'max' },
  { flag: '--min-exact', metric: 'exactLineAccuracy', tasks: TEXT, kind: 'min' },
  { flag: '--min-line-recall', metric: 'recall', tasks: ['ocr'], kind: 'min' },
  { flag: '--min-miou', metric: 'meanIou', tasks: ['segment'], kind: 'min' },
];

export const EVALUATE_USAGE = `Usage: sightline evaluate --model NAME --dataset DIR [options]

Runs a labelled dataset through a model and reports its accuracy: against a running server
(--url; the folder is uploaded as a tar archive) or in-process (the models of SIGHTLINE_MODELS_DIR,
the named model only, on a throwaway database). Layouts are detected from the folder: one
sub-folder of images per label or a labels.csv (classify), labels.txt of file<TAB>text lines
(text-recognize; for an OCR pipeline each image's whole text), PaddleOCR's Label.txt of lines with
their points (OCR pipelines), annotations.json (COCO) or YOLO .txt labels (detect), .mask.png masks
(segment).
A progress line goes to stderr, a table to stdout. Exit status: 0 when every gate holds, 1 when a
gate is missed or the evaluation failed, 2 on bad arguments or when it cannot start.

Options:
  --model NAME            the model to evaluate
  --dataset DIR           a local dataset folder
  --server-dataset NAME   instead of --dataset: a folder under the server's SIGHTLINE_DATASETS_DIR (needs --url)
  --url URL               a running sightline, e.g. http://127.0.0.1:8080 (default: in-process)
  --layout NAME           ${LAYOUTS.join(', ')} (default: detected)
  --top-k LIST            top-k accuracies to report, comma-separated (default 1,5)
  --positive-label LABEL  two-label classifiers: the positive label for ROC and PR
  --min-accuracy F        gate: classify accuracy at least F
  --min-f1 F              gate: classify macro F1 at least F
  --min-auc F             gate: two-label ROC AUC at least F
  --min-map F             gate: detect mAP@[.5:.95] at least F
  --min-map50 F           gate: detect mAP@0.5 at least F
  --max-cer F             gate: text-recognize or OCR character error rate at most F
  --max-wer F             gate: text-recognize or OCR word error rate at most F
  --min-exact F           gate: text-recognize or OCR exact-line accuracy at least F
  --min-line-recall F     gate: OCR line detection recall at least F
  --min-miou F            gate: segment mean IoU at least F
  --json FILE             write the evaluation with its full report as JSON
  --markdown FILE         write the summary tables as Markdown (for a CI job summary)
  --api-key KEY           sent as X-API-Key (or set SIGHTLINE_API_KEY)
  --timeout TIME          give up after this long: 90s, 10m, 1h (default 1h)
  --help                  print this help`;

const VALUE_FLAGS = new Set([
  '--model',
  '--dataset',
  '--server-dataset',
  '--url',
  '--layout',
  '--top-k',
  '--positive-label',
  '--json',
  '--markdown',
  '--api-key',
  '--timeout',
  ...GATES.map((g) => g.flag),
]);

function fraction(flag: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new UsageError(`${flag}: expected a number of 0 or more, got ${JSON.stringify(text)}`);
  return v;
}

function parseTimeout(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(text.trim());
  const v = m ? Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1) : Number.NaN;
  if (!(v > 0)) throw new UsageError(`--timeout: expected a duration such as 90s, 10m or 1h, got ${JSON.stringify(text)}`);
  return v;
}

/** Parses `sightline evaluate` arguments; throws UsageError for anything wrong or missing. */
export function parseEvaluateArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): EvaluateOptions {
  const values = flagValues(argv, VALUE_FLAGS);
  const model = values.get('--model');
  if (model === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(model))
    throw new UsageError(model === undefined ? '--model is required' : `--model: not a model name: ${JSON.stringify(model)}`);
  const dataset = values.get('--dataset');
  const serverDataset = values.get('--server-dataset');
  if ((dataset === undefined) === (serverDataset === undefined))
    throw new UsageError('give --dataset DIR (a local folder) or --server-dataset NAME, one of them');
  const urlText = values.get('--url');
  const url = urlText === undefined ? undefined : serverUrl(urlText, ['http:', 'https:'], (p) => `expected http:// or https://, got ${p}`);
  if (serverDataset !== undefined && url === undefined) throw new UsageError('--server-dataset names a folder on a running server: give --url too');
  const layout = values.get('--layout');
  if (layout !== undefined && !(LAYOUTS as readonly string[]).includes(layout))
    throw new UsageError(`--layout: expected one of ${LAYOUTS.join(', ')}, got ${JSON.stringify(layout)}`);
  const topKText = values.get('--top-k');
  let topK: number[] | undefined;
  if (topKText !== undefined) {
    topK = topKText.split(',').map((p) => Number(p.trim()));
    if (topK.length > 10 || topK.some((k) => !Number.isInteger(k) || k < 1 || k > 100)) {
      throw new UsageError(`--top-k: expected up to 10 whole numbers from 1 to 100, comma-separated, got ${JSON.stringify(topKText)}`);
    }
  }
  const gates: Gate[] = GATES.flatMap((g) => {
    const text = values.get(g.flag);
    return text === undefined ? [] : [{ ...g, bound: fraction(g.flag, text) }];
  });
  if (!EVALUATION_TASKS.some((t) => gates.every((g) => g.tasks.includes(t))))
    throw new UsageError(`gates of different tasks: ${gates.map((g) => g.flag).join(', ')}`);
  return {
    model,
    dataset,
    serverDataset,
    url,
    gates,
    layout: layout as Layout | undefined,
    topK,
    positiveLabel: values.get('--positive-label'),
    json: values.get('--json'),
    markdown: values.get('--markdown'),
    apiKey: values.get('--api-key') ?? (env.SIGHTLINE_API_KEY || undefined),
    timeoutSec: parseTimeout(values.get('--timeout') ?? '1h'),
  };
}
