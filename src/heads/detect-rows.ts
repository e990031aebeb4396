import { type BoxFormat, CandidateList, type Candidates } from './detect-decode.js';
import { outputMismatch } from './output-error.js';
import type { NumericData } from './tensor-access.js';

/** Values per row of an already decoded output: 4 box values, the score, the class index. */
export const DECODED_ROW = 6;

export interface RowOptions {
  classes: number;
  boxFormat: BoxFormat;
  scoreThreshold: number;
  /** 1 for each class index to keep; rows of other classes are skipped. All kept when absent. */
  keep?: Uint8Array | undefined;
}

const TASK = 'detect';

/** The row count K of a `[1, K, 6]` output; anything else does not fit the "decoded" layout. */
export function decodedRowCount(dims: readonly number[]): number {
  if (dims.length !== 3 || dims[0] !== 1 || dims[2] !== DECODED_ROW) {
    throw outputMismatch(TASK, `layout "decoded" expects output dims [1, K, 6] (x1, y1, x2, y2, score, class per row), got [${dims.join(', ')}]`);
  }
  return dims[1];
}

/**
 * Candidates from a model that decodes its own boxes (CenterNet and SSD exports, YOLO exports with
 * NMS left out of the graph): each row holds a box in tensor pixels, its score and its class index,
 * so there is no best class to pick. Rows under the threshold are skipped before their class is
 * read (padding rows may hold anything there); a kept row whose class is not a whole number below
 * the label count means the labels do not fit the model, which is an error rather than a guess.
 */
export function decodeRows(data: NumericData, rows: number, options: RowOptions): Candidates {
  const { classes, scoreThreshold, keep } = options;
  const found = new CandidateList(rows, options.boxFormat);
  for (let r = 0; r < rows; r++) {
    const o = r * DECODED_ROW;
    const score = data[o + 4];
    if (!(score >= scoreThreshold)) continue;
    const cls = data[o + 5];
    if (!Number.isInteger(cls) || cls < 0 || cls >= classes) {
      throw outputMismatch(TASK, `row ${r} has class index ${cls}, outside the ${classes} labels`);
    }
    if (keep !== undefined && keep[cls] === 0) continue;
    found.add(data[o], data[o + 1], data[o + 2], data[o + 3], score, cls);
  }
  return found.done();
}
