import { boxHead } from './box.js';
import { classifyHead } from './classify.js';
import { detectHead } from './detect.js';
import { multiHeadOf } from './multi.js';
import { multilabelHead } from './multilabel.js';
import { rawHead } from './raw.js';
import { segmentHead } from './segment.js';
import { textDetectHead } from './text-detect.js';
import { textRecognizeHead } from './text-recognize.js';
import type { Head } from './types.js';

export type { BoxXYXY, Head, ImageGeometry, ItemTensor } from './types.js';
export type { BoxAnswer, BoxOptions } from './box.js';
export type { MultiAnswer, MultiOptions, SubHead } from './multi.js';
export { ITEM_TASKS } from './multi-options.js';
export type { ClassifyAnswer, ClassifyOptions, ClassScore } from './classify.js';
export type { MultilabelAnswer, MultilabelOptions } from './multilabel.js';
export type { DetectAnswer, DetectOptions, Detection } from './detect.js';
export type { RawAnswer, RawOptions, RawOutput } from './raw.js';
export type { SegmentAnswer, SegmentOptions, SegmentPolygon } from './segment.js';
export type { Point, TextDetectAnswer, TextDetectOptions, TextRegion } from './text-detect.js';
export type { TextRecognizeAnswer, TextRecognizeOptions } from './text-recognize.js';
export { nms, iou, type NmsOptions } from './nms.js';
export { sortReadingOrder } from './reading-order.js';

/**
 * Every head by task. Adding a task means adding its head here; `Task` follows from these keys.
 */
export interface HeadRegistry {
  classify: typeof classifyHead;
  detect: typeof detectHead;
  raw: typeof rawHead;
  'text-detect': typeof textDetectHead;
  'text-recognize': typeof textRecognizeHead;
  segment: typeof segmentHead;
  box: typeof boxHead;
  multilabel: typeof multilabelHead;
  multi: typeof multiHead;
}

export type Task = keyof HeadRegistry;

/** A head of any task, for code that handles tasks generically (options come from its own schema). */
export type AnyHead = Head<unknown, unknown>;

// Sub-heads are found through the registry when a manifest is parsed or a model runs, not at import.
const multiHead = multiHeadOf(
  (task) => (isTask(task) ? heads[task] : undefined),
  () => tasks,
);

export const heads: HeadRegistry = {
  classify: classifyHead,
  detect: detectHead,
  raw: rawHead,
  'text-detect': textDetectHead,
  'text-recognize': textRecognizeHead,
  segment: segmentHead,
  box: boxHead,
  multilabel: multilabelHead,
  multi: multiHead,
};

/** Task names in registry order, e.g. for a manifest's `task` enum. */
export const tasks = Object.keys(heads) as Task[];

export function isTask(name: string): name is Task {
  return Object.hasOwn(heads, name);
}

/** The head for a task; an unknown task name is an error naming the known ones. */
export function headFor<T extends Task>(task: T): HeadRegistry[T];
export function headFor(task: string): AnyHead;
export function headFor(task: string): AnyHead {
  if (!isTask(task)) throw new Error(`unknown task "${task}" (known: ${tasks.join(', ')})`);
  return heads[task];
}
