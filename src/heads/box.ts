import { z } from 'zod';
import { boxToOriginal } from './box-mapping.js';
import { outputOption } from './common-options.js';
import { outputMismatch } from './output-error.js';
import { declaredOutput, numericData } from './tensor-access.js';
import { tensorHead } from './tensor-head.js';
import type { BoxXYXY } from './types.js';

const TASK = 'box';

export const boxOptions = z.strictObject({
  /** How the four values are written: corners, centre and size, or top-left corner and size. */
  format: z.enum(['xyxy', 'cxcywh', 'xywh']).default('xyxy'),
  /** true: fractions (0–1) of the model input's width and height; false: model input pixels. */
  normalized: z.boolean().default(false),
  output: outputOption,
});
export type BoxOptions = z.output<typeof boxOptions>;

export interface BoxAnswer {
  /** `[x1, y1, x2, y2]` in original image pixels, clamped to the image, in output order. */
  boxes: BoxXYXY[];
}

/** Rows of an output `[1, 4]` (one box) or `[1, K, 4]` (K boxes). */
function rowCount(dims: readonly number[]): number | undefined {
  if (dims[0] !== 1) return undefined;
  if (dims.length === 2 && dims[1] === 4) return 1;
  if (dims.length === 3 && dims[2] === 4) return dims[1];
  return undefined;
}

/**
 * Box regression: a model that outputs boxes (no scores, no classes), each mapped from model-input
 * coordinates back to the original image through the resize transform (stretch or letterbox).
 */
export const boxHead = tensorHead(
  TASK,
  boxOptions,
  (tensor, geometry, options): BoxAnswer => {
    const rows = rowCount(tensor.dims);
    if (rows === undefined) throw outputMismatch(TASK, `expected output dims [1, 4] or [1, K, 4], got [${tensor.dims.join(', ')}]`);
    const data = numericData(TASK, tensor);
    const sx = options.normalized ? geometry.tensor.width : 1;
    const sy = options.normalized ? geometry.tensor.height : 1;
    const boxes = new Array<BoxXYXY>(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * 4;
      for (let k = 0; k < 4; k++) if (!Number.isFinite(data[o + k])) throw outputMismatch(TASK, `box ${r} value ${k} is ${data[o + k]}`);
      const a = data[o] * sx;
      const b = data[o + 1] * sy;
      const c = data[o + 2] * sx;
      const d = data[o + 3] * sy;
      if (options.format === 'xyxy') boxes[r] = boxToOriginal(geometry, a, b, c, d);
      else if (options.format === 'xywh') boxes[r] = boxToOriginal(geometry, a, b, a + c, b + d);
      else boxes[r] = boxToOriginal(geometry, a - c / 2, b - d / 2, a + c / 2, b + d / 2);
    }
    return { boxes };
  },
  {
    checkOutputs(outputs, options) {
      const declared = declaredOutput(outputs, options.output);
      if (declared === undefined) return undefined;
      const { name, dims } = declared;
      // Symbolic dims are checked per batch by run().
      if ((dims.length === 2 || dims.length === 3) && (typeof dims[dims.length - 1] !== 'number' || dims[dims.length - 1] === 4)) return undefined;
      return { field: 'head.output', message: `a box head reads [N, 4] or [N, K, 4]; output "${name}" has dims [${dims.join(', ')}]` };
    },
  },
);
