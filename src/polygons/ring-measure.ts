/**
 * Measures of closed rings stored as interleaved x, y. native/ring_measure.h performs the same
 * floating-point operations in the same order, so both give bit-identical results.
 */

type Coords = ArrayLike<number>;

/**
 * Twice the signed (shoelace) area, Σ (x_i·y_{i+1} − x_{i+1}·y_i), over `n` points starting at
 * `offset` (in numbers), taken relative to the first point to keep the products small. Negative
 * for outer rings (counter-clockwise on screen, y down).
 */
export function shoelace2(xy: Coords, offset: number, n: number): number {
  if (n < 3) return 0;
  const x0 = xy[offset];
  const y0 = xy[offset + 1];
  let sum = 0;
  for (let i = 1; i + 1 < n; i++) {
    const k = offset + 2 * i;
    const ax = xy[k] - x0;
    const ay = xy[k + 1] - y0;
    const bx = xy[k + 2] - x0;
    const by = xy[k + 3] - y0;
    sum += ax * by - bx * ay;
  }
  return sum;
}

/** Length of the closed ring, last point joined back to the first. */
export function perimeter(xy: Coords, offset: number, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const j = i + 1 === n ? 0 : i + 1;
    const dx = xy[offset + 2 * j] - xy[offset + 2 * i];
    const dy = xy[offset + 2 * j + 1] - xy[offset + 2 * i + 1];
    sum += Math.sqrt(dx * dx + dy * dy);
  }
  return sum;
}
