import { perimeter, shoelace2 } from './ring-measure.js';

/**
 * DB-style "unclip": grows a ring outward the way PaddleOCR's DB post-processing does with
 * pyclipper (round joins), by distance = area × ratio / perimeter. Mirrors native/ring_offset.cc
 * operation for operation so both give identical coordinates.
 *
 * Approach: every vertex of the ring (oriented so its interior is on the left) is moved out along
 * the normals of its two edges; convex vertices get a round join (arc chords no farther than
 * ARC_TOLERANCE from the arc), concave vertices are joined through the vertex itself, as clipper
 * does. That raw curve can cross itself where the ring is concave or where parts of it come
 * closer than twice the distance. The result is its outer envelope, found by walking the curve
 * from its leftmost point and, at every crossing, turning onto the branch that bends rightward
 * (outward). Holes that the growth encloses are filled, which suits text boxes.
 */

/** How far round joins may stray from the true arc, in pixels (pyclipper's default as well). */
export const ARC_TOLERANCE = 0.25;
/** At most 2^6 chords per join. */
export const MAX_ARC_LEVELS = 6;
/** Work limits for resolving self-intersections; past them the convex hull's offset is used. */
export const PAIR_BUDGET = 20000000;
export const CROSSING_BUDGET = 1000000;

interface Point {
  x: number;
  y: number;
}

const samePoint = (a: Point, b: Point) => a.x === b.x && a.y === b.y;

/** Drops points equal to their predecessor, the last one compared with the first too. */
function dropRepeats(pts: Point[]): Point[] {
  const kept: Point[] = [];
  for (const p of pts) {
    if (kept.length === 0 || !samePoint(kept[kept.length - 1], p)) kept.push(p);
  }
  while (kept.length > 1 && samePoint(kept[0], kept[kept.length - 1])) kept.pop();
  return kept;
}

/** Unit vector halfway between unit vectors a and b, turning from a in the ring's positive sense. */
function bisect(a: Point, b: Point): Point {
  const sx = a.x + b.x;
  const sy = a.y + b.y;
  const len = Math.sqrt(sx * sx + sy * sy);
  if (len < 1e-9) return { x: -a.y, y: a.x };
  return { x: sx / len, y: sy / len };
}

function emitArc(p: Point, a: Point, b: Point, d: number, level: number, raw: Point[]): void {
  if (level === 0) {
    raw.push({ x: p.x + d * b.x, y: p.y + d * b.y });
    return;
  }
  const m = bisect(a, b);
  emitArc(p, a, m, d, level - 1, raw);
  emitArc(p, m, b, d, level - 1, raw);
}

/** The raw offset curve of a ring with positive orientation and no repeated points. */
function offsetCurve(pts: Point[], d: number): Point[] {
  const n = pts.length;
  const raw: Point[] = [];
  for (let i = 0; i < n; i++) {
    const a = pts[i === 0 ? n - 1 : i - 1];
    const p = pts[i];
    const b = pts[i + 1 === n ? 0 : i + 1];
    const e0x = p.x - a.x,
      e0y = p.y - a.y;
    const e1x = b.x - p.x,
      e1y = b.y - p.y;
    const l0 = Math.sqrt(e0x * e0x + e0y * e0y);
    const l1 = Math.sqrt(e1x * e1x + e1y * e1y);
    const n0 = { x: e0y / l0, y: -e0x / l0 };
    const n1 = { x: e1y / l1, y: -e1x / l1 };
    const turn = e0x * e1y - e0y * e1x;
    raw.push({ x: p.x + d * n0.x, y: p.y + d * n0.y });
    if (turn < 0) {
      raw.push({ x: p.x, y: p.y });
      raw.push({ x: p.x + d * n1.x, y: p.y + d * n1.y });
    } else {
      const sx = n0.x + n1.x,
        sy = n0.y + n1.y;
      let c = Math.sqrt(sx * sx + sy * sy) / 2; // cosine of half the join's angle
      let levels = 0;
      while (d * (1 - c) > ARC_TOLERANCE && levels < MAX_ARC_LEVELS) {
        c = Math.sqrt((1 + c) / 2);
        levels++;
      }
      emitArc(p, n0, n1, d, levels, raw);
    }
  }
  return dropRepeats(raw);
}

interface Crossing {
  /** Where on this segment. */
  t: number;
  /** The segment crossed. */
  other: number;
  /** Where on the other segment. */
  u: number;
}

const crossingOrder = (a: Crossing, b: Crossing) =>
  a.t !== b.t ? (a.t < b.t ? -1 : 1) : a.other !== b.other ? a.other - b.other : a.u < b.u ? -1 : a.u > b.u ? 1 : 0;

/** Outer envelope of a closed curve with positive orientation; null when limits are exceeded. */
function outerEnvelope(raw: Point[]): Point[] | null {
  const m = raw.length;
  if (m < 3) return null;
  const minX = new Float64Array(m),
    maxX = new Float64Array(m);
  const minY = new Float64Array(m),
    maxY = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const a = raw[i];
    const b = raw[i + 1 === m ? 0 : i + 1];
    minX[i] = Math.min(a.x, b.x);
    maxX[i] = Math.max(a.x, b.x);
    minY[i] = Math.min(a.y, b.y);
    maxY[i] = Math.max(a.y, b.y);
  }
  const order = Array.from({ length: m }, (_, i) => i);
  order.sort((a, b) => (minX[a] !== minX[b] ? (minX[a] < minX[b] ? -1 : 1) : a - b));

  const crossings: Crossing[][] = Array.from({ length: m }, () => []);
  let pairs = 0;
  let found = 0;
  for (let ai = 0; ai < m; ai++) {
    const i = order[ai];
    for (let bi = ai + 1; bi < m; bi++) {
      const j = order[bi];
      if (minX[j] > maxX[i]) break;
      if (++pairs > PAIR_BUDGET) return null;
      if (maxY[j] < minY[i] || minY[j] > maxY[i]) continue;
      const lo = Math.min(i, j),
        hi = Math.max(i, j);
      if (hi - lo === 1 || (lo === 0 && hi === m - 1)) continue; // neighbours share an end
      const p = raw[i],
        pe = raw[i + 1 === m ? 0 : i + 1];
      const q = raw[j],
        qe = raw[j + 1 === m ? 0 : j + 1];
      const rx = pe.x - p.x,
        ry = pe.y - p.y;
      const qx = qe.x - q.x,
        qy = qe.y - q.y;
      const den = rx * qy - ry * qx;
      if (den === 0) continue; // parallel: overlaps are not treated as crossings
      const wx = q.x - p.x,
        wy = q.y - p.y;
      const t = (wx * qy - wy * qx) / den;
      const u = (wx * ry - wy * rx) / den;
      if (t < 0 || t > 1 || u < 0 || u > 1) continue;
      crossings[i].push({ t, other: j, u });
      crossings[j].push({ t: u, other: i, u: t });
      if (++found > CROSSING_BUDGET) return null;
    }
  }
  if (found === 0) return raw;
  for (const list of crossings) list.sort(crossingOrder);

  let start = 0;
  for (let i = 1; i < m; i++) {
    if (raw[i].x < raw[start].x || (raw[i].x === raw[start].x && raw[i].y < raw[start].y)) start = i;
  }
  const result: Point[] = [raw[start]];
  let s = start;
  let t = 0;
  const limit = 2 * (m + 2 * found) + 16;
  let steps = 0;
  for (;;) {
    if (++steps > limit) return null;
    const list = crossings[s];
    // First crossing strictly after t.
    let lo = 0,
      hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t < list[mid].t) hi = mid;
      else lo = mid + 1;
    }
    if (lo < list.length) {
      const next = list[lo];
      const a = raw[s],
        ae = raw[s + 1 === m ? 0 : s + 1];
      const b = raw[next.other],
        be = raw[next.other + 1 === m ? 0 : next.other + 1];
      const sx = ae.x - a.x,
        sy = ae.y - a.y;
      const ox = be.x - b.x,
        oy = be.y - b.y;
      if (sx * oy - sy * ox < 0) {
        // The other branch bends rightward, away from the interior: it is the outer one.
        result.push({ x: a.x + next.t * sx, y: a.y + next.t * sy });
        s = next.other;
        t = next.u;
      } else {
        t = next.t;
      }
      continue;
    }
    s = s + 1 === m ? 0 : s + 1;
    t = 0;
    if (s === start) break;
    result.push(raw[s]);
  }
  const ring = dropRepeats(result);
  return ring.length >= 3 ? ring : null;
}

/** Andrew's monotone chain; positive orientation, collinear points dropped. */
function convexHull(input: Point[]): Point[] {
  const pts = input.slice().sort((a, b) => (a.x !== b.x ? (a.x < b.x ? -1 : 1) : a.y < b.y ? -1 : a.y > b.y ? 1 : 0));
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const hull: Point[] = [];
  for (const p of pts) {
    while (hull.length >= 2 && cross(hull[hull.length - 2], hull[hull.length - 1], p) <= 0) hull.pop();
    hull.push(p);
  }
  const lower = hull.length + 1;
  for (let i = pts.length - 1; i-- > 0;) {
    const p = pts[i];
    while (hull.length >= lower && cross(hull[hull.length - 2], hull[hull.length - 1], p) <= 0) hull.pop();
    hull.push(p);
  }
  hull.pop();
  return hull;
}

/**
 * Appends the offset of the ring (n points from `offset`, in numbers) to `out` in the outer
 * orientation and returns its point count. Rings with fewer than three points or no area, or a
 * distance that is not positive, are appended unchanged.
 */
export function unclipRing(xy: ArrayLike<number>, offset: number, n: number, ratio: number, out: number[]): number {
  const unchanged = () => {
    for (let i = 0; i < 2 * n; i++) out.push(xy[offset + i]);
    return n;
  };
  const s2 = shoelace2(xy, offset, n);
  if (n < 3 || s2 === 0) return unchanged();
  const distance = ((Math.abs(s2) / 2) * ratio) / perimeter(xy, offset, n);
  if (!(distance > 0)) return unchanged();

  let pts: Point[] = [];
  for (let i = 0; i < n; i++) {
    const k = s2 > 0 ? i : n - 1 - i; // interior on the left
    pts.push({ x: xy[offset + 2 * k], y: xy[offset + 2 * k + 1] });
  }
  pts = dropRepeats(pts);
  if (pts.length < 3) return unchanged();

  let ring = outerEnvelope(offsetCurve(pts, distance));
  if (ring === null) {
    const hull = convexHull(pts);
    if (hull.length < 3) return unchanged();
    ring = offsetCurve(hull, distance);
  }
  // Back to the outer orientation.
  for (let i = ring.length - 1; i >= 0; i--) out.push(ring[i].x, ring[i].y);
  return ring.length;
}
