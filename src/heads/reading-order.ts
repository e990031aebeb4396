import type { BoxXYXY } from './types.js';

/**
 * Sorts boxes into reading order: top to bottom, then left to right within a line.
 * Boxes are taken by top edge (y1); a box joins the current line when its top is at most half the
 * median box height below the top of the line's first box, otherwise it starts a new line. Boxes
 * within a line are ordered by left edge (x1). Anchoring on the line's first box keeps a gently
 * slanted run of boxes from chaining lines together. Returns a new array; the input is not changed.
 */
export function sortReadingOrder<T extends { box: BoxXYXY }>(items: readonly T[]): T[] {
  if (items.length < 2) return items.slice();
  const heights = items.map((item) => item.box[3] - item.box[1]).sort((a, b) => a - b);
  const mid = heights.length >> 1;
  const median = heights.length % 2 === 1 ? heights[mid] : (heights[mid - 1] + heights[mid]) / 2;
  const tolerance = median / 2;

  const byTop = items.slice().sort((a, b) => a.box[1] - b.box[1] || a.box[0] - b.box[0]);
  const ordered: T[] = [];
  let line: T[] = [];
  let lineTop = byTop[0].box[1];
  for (const item of byTop) {
    if (item.box[1] - lineTop > tolerance) {
      ordered.push(...line.sort(byLeft));
      line = [];
      lineTop = item.box[1];
    }
    line.push(item);
  }
  ordered.push(...line.sort(byLeft));
  return ordered;
}

const byLeft = (a: { box: BoxXYXY }, b: { box: BoxXYXY }) => a.box[0] - b.box[0] || a.box[1] - b.box[1];
