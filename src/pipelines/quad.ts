import type { BoxXYXY } from '../heads/types.js';

export type Point = [number, number];

/**
 * A text line's quadrilateral in its own reading frame: top-left, top-right, bottom-right,
 * bottom-left as the text reads (so `tl → tr` runs along the line), in image pixels.
 */
export type Quad = [Point, Point, Point, Point];

const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

/** Convex hull (Andrew's monotone chain), counter-clockwise in y-up terms; collinear points dropped. */
export function convexHull(points: readonly Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (sorted.length < 3) return sorted;
  const lower: Point[] = [];
  for (const p of sorted) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point[] = [];
  for (let i = sorted.length - 1; i >= 0; i--) {
    const p = sorted[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return [...lower, ...upper];
}

/** A rectangle by its centre, unit axis `u` (with `v` ⟂ u) and half extents along each. */
interface Rect {
  centre: Point;
  u: Point;
  halfU: number;
  halfV: number;
}

/**
 * The smallest-area rectangle around the points (rotating calipers over the hull: one side of
 * the best rectangle lies on a hull edge), as OpenCV's minAreaRect gives PaddleOCR.
 */
export function minAreaRect(points: readonly Point[]): Rect {
  const hull = convexHull(points);
  if (hull.length === 0) return { centre: [0, 0], u: [1, 0], halfU: 0, halfV: 0 };
  if (hull.length === 1) return { centre: hull[0], u: [1, 0], halfU: 0, halfV: 0 };
  let best: Rect | undefined;
  let bestArea = Infinity;
  for (let i = 0; i < hull.length; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    if (len === 0) continue;
    const u: Point = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const pu = p[0] * u[0] + p[1] * u[1];
      const pv = -p[0] * u[1] + p[1] * u[0];
      if (pu < minU) minU = pu;
      if (pu > maxU) maxU = pu;
      if (pv < minV) minV = pv;
      if (pv > maxV) maxV = pv;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { centre: [cu * u[0] - cv * u[1], cu * u[1] + cv * u[0]], u, halfU: (maxU - minU) / 2, halfV: (maxV - minV) / 2 };
    }
  }
  return best!;
}

/** Lines this much longer down than across read top to bottom (PaddleOCR turns such crops by 90°). */
const VERTICAL_RATIO = 1.5;

/**
 * The upright quadrilateral of a text region: its minimum-area rectangle, read along the side
 * nearer horizontal, left to right, unless the region is at least 1.5 × taller than wide along
 * that frame, when it reads top to bottom (the crop turns 90° counter-clockwise, as PaddleOCR's).
 * A line upside down stays upside down here; a direction classifier tells it apart.
 */
export function uprightQuad(points: readonly Point[]): Quad {
  const rect = minAreaRect(points);
  // The rectangle's two axes; `across` is the one nearer horizontal.
  const a: Point = rect.u;
  const b: Point = [-rect.u[1], rect.u[0]];
  const aHorizontal = Math.abs(a[0]) >= Math.abs(b[0]);
  let across = aHorizontal ? a : b;
  let down = aHorizontal ? b : a;
  let halfAcross = aHorizontal ? rect.halfU : rect.halfV;
  let halfDown = aHorizontal ? rect.halfV : rect.halfU;
  if (halfDown >= VERTICAL_RATIO * halfAcross && halfDown > 0) {
    [across, down] = [down, across];
    [halfAcross, halfDown] = [halfDown, halfAcross];
    // Reads downwards.
    if (across[1] < 0) across = [-across[0], -across[1]];
  } else if (across[0] < 0) {
    across = [-across[0], -across[1]];
  }
  // "Down" in the crop is the axis turned +90° from the reading direction (y grows downwards).
  down = [-across[1], across[0]];
  const [cx, cy] = rect.centre;
  const corner = (su: number, sv: number): Point => [
    cx + su * halfAcross * across[0] + sv * halfDown * down[0],
    cy + su * halfAcross * across[1] + sv * halfDown * down[1],
  ];
  return [corner(-1, -1), corner(1, -1), corner(1, 1), corner(-1, 1)];
}

/** The quadrilateral as the text reads after turning the crop 180°: the same corners, starting at the other end. */
export function turnQuad180(q: Quad): Quad {
  return [q[2], q[3], q[0], q[1]];
}

/** The quad grown by `d` pixels on every side, in its own frame (along its top edge and its left edge). */
export function growQuad(q: Quad, d: number): Quad {
  if (d === 0) return q;
  const unit = (a: Point, b: Point): Point => {
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    return len === 0 ? [0, 0] : [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
  };
  const u = unit(q[0], q[1]);
  const v = unit(q[0], q[3]);
  const at = (p: Point, su: number, sv: number): Point => [p[0] + d * (su * u[0] + sv * v[0]), p[1] + d * (su * u[1] + sv * v[1])];
  return [at(q[0], -1, -1), at(q[1], 1, -1), at(q[2], 1, 1), at(q[3], -1, 1)];
}

/** Quad from an axis-aligned box `[x1, y1, x2, y2]`. */
export function boxQuad(box: BoxXYXY): Quad {
  const [x1, y1, x2, y2] = box;
  return [
    [x1, y1],
    [x2, y1],
    [x2, y2],
    [x1, y2],
  ];
}

/** Width along the reading direction and height across it, the longer of each pair of opposite sides. */
export function quadSize(q: Quad): { width: number; height: number } {
  const d = (p: Point, r: Point) => Math.hypot(r[0] - p[0], r[1] - p[1]);
  return { width: Math.max(d(q[0], q[1]), d(q[3], q[2])), height: Math.max(d(q[0], q[3]), d(q[1], q[2])) };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

/** The corners clamped to the image (the crop itself may sample past the edge; answers stay inside). */
export function clampQuad(q: Quad, width: number, height: number): Quad {
  return q.map(([x, y]) => [clamp(x, 0, width), clamp(y, 0, height)]) as Quad;
}

export function quadBounds(q: Quad): BoxXYXY {
  const xs = q.map((p) => p[0]);
  const ys = q.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}
