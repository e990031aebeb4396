#include "ring_offset.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ring_measure.h"

namespace sightline {
namespace {

struct Point {
  double x;
  double y;
};

bool samePoint(const Point& a, const Point& b) { return a.x == b.x && a.y == b.y; }

// Drops points equal to their predecessor, the last one compared with the first too.
void dropRepeats(std::vector<Point>& pts) {
  std::vector<Point> kept;
  kept.reserve(pts.size());
  for (const Point& p : pts) {
    if (kept.empty() || !samePoint(kept.back(), p)) kept.push_back(p);
  }
  while (kept.size() > 1 && samePoint(kept.front(), kept.back())) kept.pop_back();
  pts.swap(kept);
}

// Unit vector halfway between unit vectors a and b, turning counter-clockwise (in the ring's
// positive orientation) from a; for opposite vectors that is a turned a quarter.
Point bisect(const Point& a, const Point& b) {
  const double sx = a.x + b.x;
  const double sy = a.y + b.y;
  const double len = std::sqrt(sx * sx + sy * sy);
  if (len < 1e-9) return {-a.y, a.x};
  return {sx / len, sy / len};
}

void emitArc(const Point& p, const Point& a, const Point& b, double d, int level,
             std::vector<Point>& raw) {
  if (level == 0) {
    raw.push_back({p.x + d * b.x, p.y + d * b.y});
    return;
  }
  const Point m = bisect(a, b);
  emitArc(p, a, m, d, level - 1, raw);
  emitArc(p, m, b, d, level - 1, raw);
}

// The raw offset curve of a ring with positive orientation and no repeated points.
std::vector<Point> offsetCurve(const std::vector<Point>& pts, double d) {
  const size_t n = pts.size();
  std::vector<Point> raw;
  raw.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const Point& a = pts[i == 0 ? n - 1 : i - 1];
    const Point& p = pts[i];
    const Point& b = pts[i + 1 == n ? 0 : i + 1];
    const double e0x = p.x - a.x, e0y = p.y - a.y;
    const double e1x = b.x - p.x, e1y = b.y - p.y;
    const double l0 = std::sqrt(e0x * e0x + e0y * e0y);
    const double l1 = std::sqrt(e1x * e1x + e1y * e1y);
    const Point n0 = {e0y / l0, -e0x / l0};
    const Point n1 = {e1y / l1, -e1x / l1};
    const double turn = e0x * e1y - e0y * e1x;
    raw.push_back({p.x + d * n0.x, p.y + d * n0.y});
    if (turn < 0) {
      raw.push_back(p);
      raw.push_back({p.x + d * n1.x, p.y + d * n1.y});
    } else {
      const double sx = n0.x + n1.x, sy = n0.y + n1.y;
      double c = std::sqrt(sx * sx + sy * sy) / 2;  // cosine of half the join's angle
      int levels = 0;
      while (d * (1 - c) > kArcTolerance && levels < kMaxArcLevels) {
        c = std::sqrt((1 + c) / 2);
        ++levels;
      }
      emitArc(p, n0, n1, d, levels, raw);
    }
  }
  dropRepeats(raw);
  return raw;
}

struct Crossing {
  double t;       // where on this segment
  uint32_t other; // the segment crossed
  double u;       // where on the other segment
};

bool crossingBefore(const Crossing& a, const Crossing& b) {
  if (a.t != b.t) return a.t < b.t;
  if (a.other != b.other) return a.other < b.other;
  return a.u < b.u;
}

// Outer envelope of a closed curve with positive orientation; false when the work limits are
// exceeded or the walk does not close.
bool outerEnvelope(const std::vector<Point>& raw, std::vector<Point>& result) {
  const size_t m = raw.size();
  if (m < 3) return false;
  std::vector<double> minX(m), maxX(m), minY(m), maxY(m);
  for (size_t i = 0; i < m; ++i) {
    const Point& a = raw[i];
    const Point& b = raw[i + 1 == m ? 0 : i + 1];
    minX[i] = std::min(a.x, b.x);
    maxX[i] = std::max(a.x, b.x);
    minY[i] = std::min(a.y, b.y);
    maxY[i] = std::max(a.y, b.y);
  }
  std::vector<uint32_t> order(m);
  for (size_t i = 0; i < m; ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (minX[a] != minX[b]) return minX[a] < minX[b];
    return a < b;
  });

  std::vector<std::vector<Crossing>> crossings(m);
  double pairs = 0;
  double found = 0;
  for (size_t ai = 0; ai < m; ++ai) {
    const uint32_t i = order[ai];
    for (size_t bi = ai + 1; bi < m; ++bi) {
      const uint32_t j = order[bi];
      if (minX[j] > maxX[i]) break;
      if (++pairs > kPairBudget) return false;
      if (maxY[j] < minY[i] || minY[j] > maxY[i]) continue;
      const uint32_t lo = std::min(i, j), hi = std::max(i, j);
      if (hi - lo == 1 || (lo == 0 && hi == m - 1)) continue;  // neighbours share an end
      const Point& p = raw[i];
      const Point& pe = raw[i + 1 == m ? 0 : i + 1];
      const Point& q = raw[j];
      const Point& qe = raw[j + 1 == m ? 0 : j + 1];
      const double rx = pe.x - p.x, ry = pe.y - p.y;
      const double qx = qe.x - q.x, qy = qe.y - q.y;
      const double den = rx * qy - ry * qx;
      if (den == 0) continue;  // parallel: overlaps are not treated as crossings
      const double wx = q.x - p.x, wy = q.y - p.y;
      const double t = (wx * qy - wy * qx) / den;
      const double u = (wx * ry - wy * rx) / den;
      if (t < 0 || t > 1 || u < 0 || u > 1) continue;
      crossings[i].push_back({t, j, u});
      crossings[j].push_back({u, i, t});
      if (++found > kCrossingBudget) return false;
    }
  }
  if (found == 0) {
    result = raw;
    return true;
  }
  for (auto& list : crossings) std::sort(list.begin(), list.end(), crossingBefore);

  size_t start = 0;
  for (size_t i = 1; i < m; ++i) {
    if (raw[i].x < raw[start].x || (raw[i].x == raw[start].x && raw[i].y < raw[start].y)) start = i;
  }
  result.clear();
  result.push_back(raw[start]);
  size_t s = start;
  double t = 0;
  const double limit = 2 * (static_cast<double>(m) + 2 * found) + 16;
  double steps = 0;
  for (;;) {
    if (++steps > limit) return false;
    const std::vector<Crossing>& list = crossings[s];
    auto next = std::upper_bound(list.begin(), list.end(), t,
                                 [](double value, const Crossing& c) { return value < c.t; });
    if (next != list.end()) {
      const Point& a = raw[s];
      const Point& ae = raw[s + 1 == m ? 0 : s + 1];
      const Point& b = raw[next->other];
      const Point& be = raw[next->other + 1 == m ? 0 : next->other + 1];
      const double sx = ae.x - a.x, sy = ae.y - a.y;
      const double ox = be.x - b.x, oy = be.y - b.y;
      if (sx * oy - sy * ox < 0) {
        // The other branch bends rightward, away from the interior: it is the outer one.
        result.push_back({a.x + next->t * sx, a.y + next->t * sy});
        s = next->other;
        t = next->u;
      } else {
        t = next->t;
      }
      continue;
    }
    s = s + 1 == m ? 0 : s + 1;
    t = 0;
    if (s == start) break;
    result.push_back(raw[s]);
  }
  dropRepeats(result);
  return result.size() >= 3;
}

// Andrew's monotone chain; positive orientation, collinear points dropped.
std::vector<Point> convexHull(std::vector<Point> pts) {
  std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) {
    if (a.x != b.x) return a.x < b.x;
    return a.y < b.y;
  });
  std::vector<Point> hull;
  auto cross = [](const Point& o, const Point& a, const Point& b) {
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  };
  for (size_t i = 0; i < pts.size(); ++i) {
    while (hull.size() >= 2 && cross(hull[hull.size() - 2], hull.back(), pts[i]) <= 0) hull.pop_back();
    hull.push_back(pts[i]);
  }
  const size_t lower = hull.size() + 1;
  for (size_t i = pts.size() - 1; i-- > 0;) {
    while (hull.size() >= lower && cross(hull[hull.size() - 2], hull.back(), pts[i]) <= 0) hull.pop_back();
    hull.push_back(pts[i]);
  }
  hull.pop_back();
  return hull;
}

size_t appendUnchanged(const double* xy, size_t n, std::vector<double>& out) {
  out.insert(out.end(), xy, xy + 2 * n);
  return n;
}

}  // namespace

size_t unclipRing(const double* xy, size_t n, double ratio, std::vector<double>& out) {
  const double s2 = shoelace2(xy, n);
  if (n < 3 || s2 == 0) return appendUnchanged(xy, n, out);
  const double distance = (std::fabs(s2) / 2) * ratio / perimeter(xy, n);
  if (!(distance > 0)) return appendUnchanged(xy, n, out);

  std::vector<Point> pts(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = s2 > 0 ? i : n - 1 - i;  // interior on the left
    pts[i] = {xy[2 * k], xy[2 * k + 1]};
  }
  dropRepeats(pts);
  if (pts.size() < 3) return appendUnchanged(xy, n, out);

  std::vector<Point> ring;
  if (!outerEnvelope(offsetCurve(pts, distance), ring)) {
    const std::vector<Point> hull = convexHull(pts);
    if (hull.size() < 3) return appendUnchanged(xy, n, out);
    ring = offsetCurve(hull, distance);
  }
  // Back to the outer orientation.
  for (size_t i = ring.size(); i-- > 0;) {
    out.push_back(ring[i].x);
    out.push_back(ring[i].y);
  }
  return ring.size();
}

}  // namespace sightline
