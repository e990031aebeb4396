/**
 * Turns a segment answer's polygons back into a label map, so it can be compared with a mask
 * pixel by pixel. The segment head traces outlines through the centres of a region's boundary
 * pixels, so a pixel belongs to a polygon when its centre lies on an outline (outer ring or
 * hole), or strictly inside the outer ring and not strictly inside a hole. For polygons traced
 * at the image's own resolution without simplification this gives back exactly the pixels the
 * model labelled; after resizing or simplification it is the nearest pixel reading.
 */

export type Ring = ReadonlyArray<readonly [number, number]>;

export interface LabelledPolygon {
  label: number;
  points: Ring;
  holes: readonly Ring[];
}

const EPS = 1e-9;

/** The rows whose centres the ring's y-extent covers, clipped to the map. */
function rowsOf(ring: Ring, height: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const [, y] of ring) {
    if (y < lo) lo = y;
    if (y > hi) hi = y;
  }
  return [Math.max(0, Math.ceil(lo - 0.5 - EPS)), Math.min(height - 1, Math.floor(hi - 0.5 + EPS))];
}

/** Pixel centres of row `y` (at y + 0.5) crossed by the ring's edges, as x positions (even–odd rule). */
function crossings(ring: Ring, yc: number): number[] {
  const xs: number[] = [];
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [x0, y0] = ring[j];
    const [x1, y1] = ring[i];
    // Half-open in y, so a vertex on the row counts once.
    if ((y0 <= yc && yc < y1) || (y1 <= yc && yc < y0)) xs.push(x0 + ((yc - y0) * (x1 - x0)) / (y1 - y0));
  }
  return xs.sort((a, b) => a - b);
}

/** Marks (value 1) or clears (0) the pixels whose centres lie strictly between crossing pairs. */
function spanFill(mask: Uint8Array, width: number, height: number, ring: Ring, value: 0 | 1): void {
  const [top, bottom] = rowsOf(ring, height);
  for (let y = top; y <= bottom; y++) {
    const xs = crossings(ring, y + 0.5);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const from = Math.max(0, Math.ceil(xs[k] - 0.5 + EPS));
      const to = Math.min(width - 1, Math.floor(xs[k + 1] - 0.5 - EPS));
      for (let x = from; x <= to; x++) mask[y * width + x] = value;
    }
  }
}

/** Marks every pixel whose centre lies on one of the ring's edges. */
function markOutline(mask: Uint8Array, width: number, height: number, ring: Ring): void {
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [x0, y0] = ring[j];
    const [x1, y1] = ring[i];
    const rowFrom = Math.max(0, Math.ceil(Math.min(y0, y1) - 0.5 - EPS));
    const rowTo = Math.min(height - 1, Math.floor(Math.max(y0, y1) - 0.5 + EPS));
    for (let y = rowFrom; y <= rowTo; y++) {
      const yc = y + 0.5;
      let lo: number;
      let hi: number;
      if (Math.abs(y1 - y0) < EPS) {
        lo = Math.min(x0, x1);
        hi = Math.max(x0, x1);
      } else {
        lo = hi = x0 + ((yc - y0) * (x1 - x0)) / (y1 - y0);
      }
      const from = Math.max(0, Math.ceil(lo - 0.5 - EPS));
      const to = Math.min(width - 1, Math.floor(hi - 0.5 + EPS));
      for (let x = from; x <= to; x++) {
        const xc = x + 0.5;
        if (Math.abs(y1 - y0) < EPS || Math.abs(xc - lo) < 1e-6) mask[y * width + x] = 1;
      }
    }
  }
}

/**
 * A `width × height` map of class indices: `background` everywhere, then each polygon's pixels
 * set to its label, in the order given (the head lists larger regions first).
 */
export function rasterizePolygons(polygons: readonly LabelledPolygon[], width: number, height: number, background: number): Uint8Array {
  const map = new Uint8Array(width * height).fill(background);
  const mask = new Uint8Array(width * height);
  for (const polygon of polygons) {
    if (polygon.points.length === 0) continue;
    // Holes lie inside their outer ring, so its rows bound everything this polygon touches.
    const [top, bottom] = rowsOf(polygon.points, height);
    if (top > bottom) continue;
    mask.fill(0, top * width, (bottom + 1) * width);
    spanFill(mask, width, height, polygon.points, 1);
    for (const hole of polygon.holes) spanFill(mask, width, height, hole, 0);
    markOutline(mask, width, height, polygon.points);
    for (const hole of polygon.holes) markOutline(mask, width, height, hole);
    for (let i = top * width; i < (bottom + 1) * width; i++) if (mask[i] === 1) map[i] = polygon.label;
  }
  return map;
}
