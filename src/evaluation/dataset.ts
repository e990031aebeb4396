import { badRequest } from '../errors.js';
import type { Box } from './detect-metrics.js';
import type { DatasetFiles } from './dataset-files.js';

/**
 * How a dataset is laid out, detected from its files (or named by the client):
 *   imagefolder  classify: `<label>/<image>` (torchvision's ImageFolder)
 *   csv          classify: a CSV of `file,label` rows (a header row is optional)
 *   labels-txt   text-recognize: `labels.txt` of `file<TAB>text` lines (PaddleOCR's label format);
 *                ocr: the same with each image's whole text
 *   ocr-lines    ocr: `Label.txt` of `file<TAB>[{"transcription", "points"}, …]` lines (PaddleOCR's detection labels)
 *   coco         detect: `annotations.json` in COCO's format, images beside it or under `images/`
 *   yolo         detect: `<stem>.txt` of `class cx cy w h` (normalised) beside each image or under `labels/`
 *   masks        segment: a PNG mask per image (`<stem>.mask.png` beside it, or under `masks/`), pixel = class index
 */
export const LAYOUTS = ['imagefolder', 'csv', 'labels-txt', 'ocr-lines', 'coco', 'yolo', 'masks'] as const;
export type Layout = (typeof LAYOUTS)[number];

/**
 * The tasks a dataset can evaluate: a model's task, or `ocr` for a pipeline whose answer holds
 * text lines with their geometry (the `ocr` pipeline).
 */
export const EVALUATION_TASKS = ['classify', 'text-recognize', 'detect', 'segment', 'ocr'] as const;
export type EvaluationTask = (typeof EVALUATION_TASKS)[number];

/** The tasks each layout can evaluate. */
export const LAYOUT_TASKS: Readonly<Record<Layout, readonly EvaluationTask[]>> = {
  imagefolder: ['classify'],
  csv: ['classify'],
  'labels-txt': ['text-recognize', 'ocr'],
  'ocr-lines': ['ocr'],
  coco: ['detect'],
  yolo: ['detect'],
  masks: ['segment'],
};

/** Something wrong with one file or line of a dataset: reported, counted, and that entry left out. */
export interface DatasetProblem {
  file: string;
  message: string;
}

export interface ClassifySampleSpec {
  file: string;
  /** Index into the model's labels. */
  label: number;
}

export interface TextSampleSpec {
  file: string;
  text: string;
}

export interface TruthBox {
  label: number;
  /** `[x1, y1, x2, y2]`: in image pixels, or fractions of the image size when `normalised`. */
  box: Box;
}

/** A labelled line of a page: its text and the bounds of its polygon, in image pixels. */
export interface OcrTruthLine {
  text: string;
  box: Box;
  /** Transcribed `###` or `*` (PaddleOCR's ignore tags): a region not to be read, which predictions may cover for nothing. */
  ignored: boolean;
}

/** A page labelled line by line (ocr-lines), or by its whole text (labels-txt). */
export type OcrSampleSpec = { file: string; lines: OcrTruthLine[] } | { file: string; page: string };

export interface DetectSampleSpec {
  file: string;
  truth: TruthBox[];
  /** YOLO boxes are fractions of the image size, known once the image is decoded. */
  normalised: boolean;
  /** The size the annotations declare (COCO), checked against the image. */
  declaredSize?: { width: number; height: number };
}

export interface SegmentSampleSpec {
  file: string;
  mask: string;
}

export type DatasetSamples =
  | { task: 'classify'; samples: ClassifySampleSpec[] }
  | { task: 'text-recognize'; samples: TextSampleSpec[] }
  | { task: 'ocr'; samples: OcrSampleSpec[] }
  | { task: 'detect'; samples: DetectSampleSpec[] }
  | { task: 'segment'; samples: SegmentSampleSpec[] };

export type Dataset = DatasetSamples & {
  name: string;
  layout: Layout;
  files: DatasetFiles;
  problems: DatasetProblem[];
};

const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'bmp']);

export const extensionOf = (file: string): string => {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
};

/** The path without its extension. */
export const stemOf = (file: string): string => {
  const dot = file.lastIndexOf('.');
  return dot > file.lastIndexOf('/') ? file.slice(0, dot) : file;
};

export const MASK_SUFFIX = '.mask.png';

export const isMask = (file: string): boolean => file.toLowerCase().endsWith(MASK_SUFFIX) || /(^|\/)masks\//.test(file);

/** An image by its extension (what it really is is found when it is decoded). */
export const isImage = (file: string): boolean => IMAGE_EXTENSIONS.has(extensionOf(file));

/** `images/a/b.jpg` → `<to>/a/b.jpg`, swapping the last `images` folder of the path; undefined when there is none. */
export function swapFolder(file: string, to: string): string | undefined {
  const parts = file.split('/');
  const at = parts.lastIndexOf('images');
  if (at === -1 || at === parts.length - 1) return undefined;
  parts[at] = to;
  return parts.join('/');
}

/** Where the YOLO labels of an image are: `<stem>.txt` beside it, or the same under `labels/`. */
export function yoloLabelFile(files: DatasetFiles, image: string): string | undefined {
  const beside = `${stemOf(image)}.txt`;
  if (files.has(beside)) return beside;
  const swapped = swapFolder(image, 'labels');
  return swapped !== undefined && files.has(`${stemOf(swapped)}.txt`) ? `${stemOf(swapped)}.txt` : undefined;
}

/** Where the mask of an image is: `<stem>.mask.png` beside it, or `<stem>.png` under `masks/`. */
export function maskFile(files: DatasetFiles, image: string): string | undefined {
  const beside = `${stemOf(image)}${MASK_SUFFIX}`;
  if (files.has(beside)) return beside;
  const swapped = swapFolder(image, 'masks');
  return swapped !== undefined && files.has(`${stemOf(swapped)}.png`) ? `${stemOf(swapped)}.png` : undefined;
}

const rootCsvs = (paths: readonly string[]) => paths.filter((p) => !p.includes('/') && extensionOf(p) === 'csv');

/** PaddleOCR's detection labels, as PPOCRLabel names them. */
export const OCR_LABELS_FILE = 'Label.txt';

/**
 * The layout the files follow, checked in this order; undefined when none fits. A set with both
 * `Label.txt` and `labels.txt` is read by its lines, unless the model is a recogniser.
 */
export function detectLayout(files: DatasetFiles, task?: EvaluationTask): Layout | undefined {
  const { paths } = files;
  if (files.has('annotations.json')) return 'coco';
  if (files.has(OCR_LABELS_FILE) && !(task === 'text-recognize' && files.has('labels.txt'))) return 'ocr-lines';
  if (files.has('labels.txt')) return 'labels-txt';
  if (rootCsvs(paths).length > 0) return 'csv';
  const images = paths.filter((p) => isImage(p) && !isMask(p));
  if (images.some((p) => maskFile(files, p) !== undefined)) return 'masks';
  if (images.some((p) => yoloLabelFile(files, p) !== undefined)) return 'yolo';
  if (images.some((p) => p.includes('/'))) return 'imagefolder';
  return undefined;
}

/** The CSV a csv layout reads: `labels.csv`, else the one CSV at the top. */
export function csvFile(files: DatasetFiles): string {
  const csvs = rootCsvs(files.paths);
  if (csvs.includes('labels.csv')) return 'labels.csv';
  if (csvs.length === 1) return csvs[0];
  if (csvs.length === 0) throw badRequest('layout csv: the dataset has no CSV file at its top level', { field: 'layout' });
  throw badRequest(`layout csv: the dataset has several CSV files (${csvs.join(', ')}); name one labels.csv`, { field: 'layout' });
}

/** Decodes UTF-8 text, dropping a byte-order mark. */
export function utf8Text(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Lines without their ends (LF or CRLF), numbered from 1; a last empty line is dropped. */
export function linesOf(text: string): Array<{ line: number; text: string }> {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines.map((t, i) => ({ line: i + 1, text: t }));
}
