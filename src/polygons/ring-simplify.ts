/** Douglas–Peucker simplification of closed rings; mirrors native/ring_simplify.cc. */

/** Squared distance from p to the segment a–b (to a when the segment is a point). */
function segmentDistance2(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let qx = ax;
  let qy = ay;
  if (len2 > 0) {
    let t = ((px - ax) * dx + (py - ay) * dy) / len2;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    qx = ax + t * dx;
    qy = ay + t * dy;
  }
  const ex = px - qx;
  const ey = py - qy;
  return ex * ex + ey * ey;
}

/**
 * Appends to `out` the points of the ring (n points from `offset`, in numbers) that
 * Douglas–Peucker keeps with tolerance epsilon: the first point, the point farthest from it, and
 * recursively every point farther than epsilon from the segment joining its kept neighbours.
 * Every dropped point lies within epsilon of the simplified ring. Returns the count appended.
 */
export function simplifyRing(xy: ArrayLike<number>, offset: number, n: number, epsilon: number, out: number[]): number {
  const X = (i: number) => xy[offset + 2 * i];
  const Y = (i: number) => xy[offset + 2 * i + 1];
  if (n <= 2 || !(epsilon > 0)) {
    for (let i = 0; i < 2 * n; i++) out.push(xy[offset + i]);
    return n;
  }
  // The farthest point from the first splits the ring into two open chains.
  let far = 0;
  let farDistance = 0;
  for (let i = 1; i < n; i++) {
    const dx = X(i) - X(0);
    const dy = Y(i) - Y(0);
    const d2 = dx * dx + dy * dy;
    if (d2 > farDistance) {
      farDistance = d2;
      far = i;
    }
  }
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[far] = 1;
  const limit = epsilon * epsilon;
  // Index n stands for point 0 again, closing the second chain.
  const stack: number[] = [];
  if (far > 0) stack.push(0, far, far, n);
  while (stack.length > 0) {
    const j = stack.pop()!;
    const i = stack.pop()!;
    if (j - i < 2) continue;
    const jj = j === n ? 0 : j;
    const ax = X(i),
      ay = Y(i);
    const bx = X(jj),
      by = Y(jj);
    let best = i;
    let bestDistance = 0;
    for (let k = i + 1; k < j; k++) {
      const d2 = segmentDistance2(X(k), Y(k), ax, ay, bx, by);
      if (d2 > bestDistance) {
        bestDistance = d2;
        best = k;
      }
    }
    if (bestDistance > limit) {
      keep[best] = 1;
      stack.push(i, best, best, j);
    }
  }
  // A ring may pass the same pixel twice; two kept visits with nothing kept between them would
  // repeat a point, so the repeat is dropped.
  const base = out.length;
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    if (kept > 0 && out[out.length - 2] === X(i) && out[out.length - 1] === Y(i)) continue;
    out.push(X(i), Y(i));
    kept++;
  }
  if (kept > 1 && out[base] === out[out.length - 2] && out[base + 1] === out[out.length - 1]) {
    out.length -= 2;
    kept--;
  }
  return kept;
}
