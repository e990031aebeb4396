import { z } from 'zod';
import { boxToOriginal, isEmptyBox } from './box-mapping.js';
import { labelsOption, outputOption, positiveCount, unitInterval } from './common-options.js';
import { decodeCandidates, resolveGrid } from './detect-decode.js';
import { nms } from './nms.js';
import { numericData, pickOutput } from './tensor-access.js';
import type { BoxXYXY, Head } from './types.js';

export const detectOptions = z.strictObject({
  labels: labelsOption,
  /** Axis order of the output; 'auto' finds the axis of size 4 (+1 with objectness) + labels. */
  layout: z.enum(['auto', 'channels-first', 'anchors-first']).default('auto'),
  /** Box encoding in tensor pixels: centre and size, or corners. */
  boxFormat: z.enum(['cxcywh', 'xyxy']).default('cxcywh'),
  /** YOLOv5-style objectness column after the box: score = objectness × class score. */
  objectness: z.boolean().default(false),
  /** Minimum score kept (inclusive). */
  scoreThreshold: unitInterval(0.25),
  /** A box is suppressed when its IoU with a better kept box is strictly greater than this. */
  iouThreshold: unitInterval(0.45),
  maxDetections: positiveCount(100),
  /** false: boxes only suppress boxes of their own class. */
  classAgnosticNms: z.boolean().default(false),
  output: outputOption,
});
export type DetectOptions = z.output<typeof detectOptions>;

export interface Detection {
  label: string;
  score: number;
  /** `[x1, y1, x2, y2]` in original image pixels, clamped to the image. */
  box: BoxXYXY;
}

export interface DetectAnswer {
  /** Best score first. */
  detections: Detection[];
}

const TASK = 'detect';

export const detectHead: Head<DetectOptions, DetectAnswer> = {
  task: TASK,
  options: detectOptions,
  run(outputs, geometry, options) {
    const tensor = pickOutput(TASK, outputs, options.output);
    const classes = options.labels.length;
    const grid = resolveGrid(tensor.dims, { classes, objectness: options.objectness }, options.layout);
    const candidates = decodeCandidates(numericData(TASK, tensor), grid, {
      classes,
      objectness: options.objectness,
      boxFormat: options.boxFormat,
      scoreThreshold: options.scoreThreshold,
    });
    // Suppression runs in tensor pixels: IoU is unchanged by the letterbox's per-axis scale and shift.
    const kept = nms(candidates.boxes, candidates.scores, candidates.count, {
      iouThreshold: options.iouThreshold,
      maxKept: options.maxDetections,
      classes: options.classAgnosticNms ? undefined : candidates.classes,
    });

    const detections: Detection[] = [];
    const { boxes, scores } = candidates;
    for (const i of kept) {
      const o = i * 4;
      const box = boxToOriginal(geometry, boxes[o], boxes[o + 1], boxes[o + 2], boxes[o + 3]);
      // A box that lies entirely in the padding describes nothing in the image.
      if (isEmptyBox(box)) continue;
      detections.push({ label: options.labels[candidates.classes[i]], score: scores[i], box });
    }
    return { detections };
  },
};
