/**
 * The affine map from original image coordinates (after EXIF orientation) to tensor coordinates:
 *   tensorX = originalX · scaleX + padX,   tensorY = originalY · scaleY + padY
 * and back:
 *   originalX = (tensorX − padX) / scaleX, originalY = (tensorY − padY) / scaleY.
 * Coordinates are continuous (pixel edges): the original image spans [0, width] × [0, height].
 */
export interface ImageTransform {
  scaleX: number;
  scaleY: number;
  padX: number;
  padY: number;
}

export interface Size {
  width: number;
  height: number;
}

/** Axis-aligned box by its corners, x1 ≤ x2 and y1 ≤ y2. */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** Maps a tensor point back to the original image, clamped to [0, width] × [0, height]. */
export function toOriginal(transform: ImageTransform, x: number, y: number, original: Size): { x: number; y: number } {
  return {
    x: clamp((x - transform.padX) / transform.scaleX, 0, original.width),
    y: clamp((y - transform.padY) / transform.scaleY, 0, original.height),
  };
}

/** Maps a tensor box back to the original image, clamped to it; a box wholly in the padding collapses to the edge. */
export function boxToOriginal(transform: ImageTransform, box: Box, original: Size): Box {
  const a = toOriginal(transform, box.x1, box.y1, original);
  const b = toOriginal(transform, box.x2, box.y2, original);
  return { x1: Math.min(a.x, b.x), y1: Math.min(a.y, b.y), x2: Math.max(a.x, b.x), y2: Math.max(a.y, b.y) };
}

/** Maps an original-image point into tensor coordinates (no clamping). */
export function toTensor(transform: ImageTransform, x: number, y: number): { x: number; y: number } {
  return { x: x * transform.scaleX + transform.padX, y: y * transform.scaleY + transform.padY };
}
