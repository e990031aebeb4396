import { z } from 'zod';
import { boxToOriginal, isEmptyBox } from './box-mapping.js';
import { labelsOption, outputOption, positiveCount, unitInterval } from './common-options.js';
import { type Candidates, decodeCandidates, resolveGrid } from './detect-decode.js';
import { DECODED_ROW, decodedRowCount, decodeRows } from './detect-rows.js';
import { nms } from './nms.js';
import { declaredOutput, type NumericData, numericData } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';
import type { BoxXYXY } from './types.js';

const TASK = 'detect';

export const detectOptions = z
  .strictObject({
    labels: labelsOption,
    /**
     * Axis order of the output; 'auto' finds the axis of size 4 (+1 with objectness) + labels.
     * 'decoded': `[1, K, 6]` rows of box, score and class index, from a model that decodes its own boxes.
     */
    layout: z.enum(['auto', 'channels-first', 'anchors-first', 'decoded']).default('auto'),
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
    /** Only these labels are answered; the others are dropped before NMS, so they suppress nothing. */
    keep: z.array(z.string().min(1)).min(1, 'name at least one label to keep (leave keep out to keep every label)').optional(),
    output: outputOption,
  })
  .superRefine((o, ctx) => {
    if (o.layout === 'decoded' && o.objectness) {
      ctx.addIssue({ code: 'custom', message: 'layout "decoded" rows hold one score; objectness does not apply', path: ['objectness'] });
    }
    const labels = new Set(o.labels);
    const seen = new Set<string>();
    o.keep?.forEach((label, i) => {
      if (!labels.has(label)) ctx.addIssue({ code: 'custom', message: `"${label}" is not one of the ${o.labels.length} labels`, path: ['keep', i] });
      else if (seen.has(label)) ctx.addIssue({ code: 'custom', message: `duplicate label "${label}"`, path: ['keep', i] });
      seen.add(label);
    });
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

export const detectHead = tensorHead(
  TASK,
  detectOptions,
  (tensor, geometry, options): DetectAnswer => {
    const candidates = decode(tensor.dims, numericData(TASK, tensor), options);
    // Suppression runs in tensor pixels: IoU is unchanged by a per-axis scale and shift (letterbox or stretch).
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
  {
    checkOutputs(outputs, options) {
      const declared = options.layout === 'decoded' ? declaredOutput(outputs, options.output) : undefined;
      if (declared === undefined) return undefined;
      const { name, dims } = declared;
      // Symbolic dims are checked per batch by run().
      if (dims.length === 3 && (typeof dims[2] !== 'number' || dims[2] === DECODED_ROW)) return undefined;
      return { field: 'head.layout', message: `layout "decoded" expects output "${name}" of dims [N, K, 6], the model declares [${dims.join(', ')}]` };
    },
  },
);

/** Candidates above the score threshold, of kept labels, in output order. */
function decode(dims: readonly number[], data: NumericData, options: DetectOptions): Candidates {
  const classes = options.labels.length;
  const keep = options.keep === undefined ? undefined : keepMask(options.labels, options.keep);
  const { boxFormat, scoreThreshold } = options;
  if (options.layout === 'decoded') return decodeRows(data, decodedRowCount(dims), { classes, boxFormat, scoreThreshold, keep });
  const grid = resolveGrid(dims, { classes, objectness: options.objectness }, options.layout);
  return decodeCandidates(data, grid, { classes, objectness: options.objectness, boxFormat, scoreThreshold, keep });
}

function keepMask(labels: readonly string[], keep: readonly string[]): Uint8Array {
  const wanted = new Set(keep);
  return Uint8Array.from(labels, (label) => (wanted.has(label) ? 1 : 0));
}
