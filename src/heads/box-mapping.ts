import type { BoxXYXY, ImageGeometry } from './types.js';

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/**
 * A tensor-pixel box mapped back to original image pixels (continuous coordinates) and clamped to
 * [0, width] × [0, height]. A box wholly in the letterbox padding collapses to zero width or height.
 */
export function boxToOriginal(geometry: ImageGeometry, x1: number, y1: number, x2: number, y2: number): BoxXYXY {
  const { transform, original } = geometry;
  const ax = clamp((x1 - transform.padX) / transform.scaleX, 0, original.width);
  const bx = clamp((x2 - transform.padX) / transform.scaleX, 0, original.width);
  const ay = clamp((y1 - transform.padY) / transform.scaleY, 0, original.height);
  const by = clamp((y2 - transform.padY) / transform.scaleY, 0, original.height);
  return [Math.min(ax, bx), Math.min(ay, by), Math.max(ax, bx), Math.max(ay, by)];
}

/** True when the box covers no area (for example it lay entirely in the padding). */
export function isEmptyBox(box: BoxXYXY): boolean {
  return box[2] <= box[0] || box[3] <= box[1];
}
