import { badRequest } from '../errors.js';
import { readCsv, readImageFolder } from './classify-datasets.js';
import type { DatasetFiles } from './dataset-files.js';
import { type Dataset, detectLayout, type EvaluationTask, type Layout, LAYOUT_TASKS, LAYOUTS, OCR_LABELS_FILE } from './dataset.js';
import { readCoco, readYolo } from './detect-datasets.js';
import { readOcrLines } from './ocr-datasets.js';
import { readMasks } from './segment-datasets.js';
import { readLabelsTxt } from './text-datasets.js';

export interface ReadDatasetOptions {
  /** The model's task: the layout must fit it. */
  task: EvaluationTask;
  /** The model's labels (classify, detect, segment): dataset labels are matched to them by name. */
  labels: readonly string[];
  /** The layout, when the client names it; otherwise detected from the files. */
  layout?: Layout;
}

/**
 * Reads a dataset's annotations into samples. Entries that cannot be used (a missing file, an
 * unknown label, a malformed line, a box outside its image) become problems and are left out;
 * only a dataset that cannot be read at all (no layout fits, or one that does not fit the
 * model's task) is refused, with 400.
 */
export async function readDataset(files: DatasetFiles, options: ReadDatasetOptions): Promise<Dataset> {
  const layout = options.layout ?? detectLayout(files, options.task);
  if (layout === undefined) {
    throw badRequest(
      `dataset ${files.name}: no known layout fits its ${files.paths.length} files (${LAYOUTS.join(', ')}); ` +
        `e.g. one folder of images per label, labels.csv, labels.txt, ${OCR_LABELS_FILE}, annotations.json, YOLO .txt labels or .mask.png masks`,
      { field: 'dataset' },
    );
  }
  if (!LAYOUT_TASKS[layout].includes(options.task)) {
    throw badRequest(`dataset ${files.name} is laid out as ${layout} (${LAYOUT_TASKS[layout].join(' or ')}), but the model's task is ${options.task}`, {
      field: 'dataset',
    });
  }
  const base = { name: files.name, layout, files };
  switch (layout) {
    case 'imagefolder':
      return { ...base, task: 'classify', ...readImageFolder(files, options.labels) };
    case 'csv': {
      const { samples, problems } = await readCsv(files, options.labels);
      return { ...base, task: 'classify', samples, problems };
    }
    case 'labels-txt': {
      if (!files.has('labels.txt')) throw badRequest('layout labels-txt: the dataset has no labels.txt', { field: 'layout' });
      const { samples, problems } = await readLabelsTxt(files);
      // For an OCR pipeline each line is an image's whole text.
      if (options.task === 'ocr') return { ...base, task: 'ocr', samples: samples.map((s) => ({ file: s.file, page: s.text })), problems };
      return { ...base, task: 'text-recognize', samples, problems };
    }
    case 'ocr-lines':
      if (!files.has(OCR_LABELS_FILE)) throw badRequest(`layout ocr-lines: the dataset has no ${OCR_LABELS_FILE}`, { field: 'layout' });
      return { ...base, task: 'ocr', ...(await readOcrLines(files)) };
    case 'coco':
      if (!files.has('annotations.json')) throw badRequest('layout coco: the dataset has no annotations.json', { field: 'layout' });
      return { ...base, task: 'detect', ...(await readCoco(files, options.labels)) };
    case 'yolo':
      return { ...base, task: 'detect', ...(await readYolo(files, options.labels)) };
    case 'masks':
      return { ...base, task: 'segment', ...readMasks(files) };
  }
}
