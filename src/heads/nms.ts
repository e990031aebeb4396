/**
 * Greedy non-maximum suppression.
 *
 * Boxes are `[x1, y1, x2, y2]` in continuous coordinates: width is x2 − x1 with no +1 pixel term,
 * so IoU is exact for boxes given in any unit. Candidates are visited best score first (equal
 * scores: lower index first) and a candidate is dropped when its IoU with an already kept box
 * of the same class (any class when `classes` is omitted) is strictly greater than `iouThreshold`.
 * Sorting is O(n log n); suppression is O(n · kept) and stops once `maxKept` boxes are kept.
 */

export interface NmsOptions {
  iouThreshold: number;
  maxKept: number;
  /** Class per box: boxes of different classes never suppress each other. Omit for class-agnostic NMS. */
  classes?: Int32Array | undefined;
}

/** Intersection over union of boxes i and j of a flat `[x1, y1, x2, y2, …]` array; 0 when the union is empty. */
export function iou(boxes: Float64Array, i: number, j: number): number {
  const a = i * 4;
  const b = j * 4;
  const iw = Math.min(boxes[a + 2], boxes[b + 2]) - Math.max(boxes[a], boxes[b]);
  const ih = Math.min(boxes[a + 3], boxes[b + 3]) - Math.max(boxes[a + 1], boxes[b + 1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const areaA = Math.max(0, boxes[a + 2] - boxes[a]) * Math.max(0, boxes[a + 3] - boxes[a + 1]);
  const areaB = Math.max(0, boxes[b + 2] - boxes[b]) * Math.max(0, boxes[b + 3] - boxes[b + 1]);
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Indices of the kept boxes, best score first.
 * @param boxes flat `[x1, y1, x2, y2]` per box, at least `count * 4` values
 * @param scores one score per box
 * @param count how many boxes of the arrays to consider
 */
export function nms(boxes: Float64Array, scores: Float64Array, count: number, options: NmsOptions): Int32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => scores[b] - scores[a] || a - b);

  const limit = Math.min(count, Math.max(0, options.maxKept));
  const kept = new Int32Array(limit);
  const { classes, iouThreshold } = options;
  let keptCount = 0;
  for (let o = 0; o < count && keptCount < limit; o++) {
    const candidate = order[o];
    let suppressed = false;
    for (let k = 0; k < keptCount; k++) {
      const other = kept[k];
      if (classes !== undefined && classes[other] !== classes[candidate]) continue;
      if (iou(boxes, candidate, other) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept[keptCount++] = candidate;
  }
  return kept.subarray(0, keptCount);
}
