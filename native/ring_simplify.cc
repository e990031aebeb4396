#include "ring_simplify.h"

#include <utility>

namespace sightline {
namespace {

// Squared distance from p to the segment a–b (to a when the segment is a point).
double segmentDistance2(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax;
  const double dy = by - ay;
  const double len2 = dx * dx + dy * dy;
  double qx = ax;
  double qy = ay;
  if (len2 > 0) {
    double t = ((px - ax) * dx + (py - ay) * dy) / len2;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    qx = ax + t * dx;
    qy = ay + t * dy;
  }
  const double ex = px - qx;
  const double ey = py - qy;
  return ex * ex + ey * ey;
}

}  // namespace

size_t simplifyRing(const int32_t* xy, size_t n, double epsilon, std::vector<int32_t>& out) {
  if (n <= 2 || !(epsilon > 0)) {
    out.insert(out.end(), xy, xy + 2 * n);
    return n;
  }
  // The farthest point from the first splits the ring into two open chains.
  size_t far = 0;
  double farDistance = 0;
  for (size_t i = 1; i < n; ++i) {
    const double dx = static_cast<double>(xy[2 * i]) - xy[0];
    const double dy = static_cast<double>(xy[2 * i + 1]) - xy[1];
    const double d2 = dx * dx + dy * dy;
    if (d2 > farDistance) {
      farDistance = d2;
      far = i;
    }
  }
  std::vector<bool> keep(n, false);
  keep[0] = true;
  keep[far] = true;
  const double limit = epsilon * epsilon;
  // Index n stands for point 0 again, closing the second chain.
  std::vector<std::pair<size_t, size_t>> stack;
  if (far > 0) {
    stack.emplace_back(0, far);
    stack.emplace_back(far, n);
  }
  while (!stack.empty()) {
    const auto [i, j] = stack.back();
    stack.pop_back();
    if (j - i < 2) continue;
    const size_t jj = j == n ? 0 : j;
    const double ax = xy[2 * i], ay = xy[2 * i + 1];
    const double bx = xy[2 * jj], by = xy[2 * jj + 1];
    size_t best = i;
    double bestDistance = 0;
    for (size_t k = i + 1; k < j; ++k) {
      const double d2 = segmentDistance2(xy[2 * k], xy[2 * k + 1], ax, ay, bx, by);
      if (d2 > bestDistance) {
        bestDistance = d2;
        best = k;
      }
    }
    if (bestDistance > limit) {
      keep[best] = true;
      stack.emplace_back(i, best);
      stack.emplace_back(best, j);
    }
  }
  // A ring may pass the same pixel twice; two kept visits with nothing kept between them would
  // repeat a point, so the repeat is dropped.
  const size_t base = out.size();
  size_t kept = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!keep[i]) continue;
    if (kept > 0 && out[out.size() - 2] == xy[2 * i] && out[out.size() - 1] == xy[2 * i + 1]) continue;
    out.push_back(xy[2 * i]);
    out.push_back(xy[2 * i + 1]);
    ++kept;
  }
  if (kept > 1 && out[base] == out[out.size() - 2] && out[base + 1] == out[out.size() - 1]) {
    out.resize(out.size() - 2);
    --kept;
  }
  return kept;
}

}  // namespace sightline
