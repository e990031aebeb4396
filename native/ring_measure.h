// Measures of closed rings stored as interleaved x, y. The TypeScript implementation performs the
// same floating-point operations in the same order, so both give bit-identical results.
#pragma once

#include <cmath>
#include <cstddef>

namespace sightline {

// Twice the signed (shoelace) area, Σ (x_i·y_{i+1} − x_{i+1}·y_i), taken relative to the first
// point to keep the products small. Negative for outer rings (counter-clockwise on screen, y down).
template <typename T>
double shoelace2(const T* xy, size_t n) {
  if (n < 3) return 0;
  const double x0 = static_cast<double>(xy[0]);
  const double y0 = static_cast<double>(xy[1]);
  double sum = 0;
  for (size_t i = 1; i + 1 < n; ++i) {
    const double ax = static_cast<double>(xy[2 * i]) - x0;
    const double ay = static_cast<double>(xy[2 * i + 1]) - y0;
    const double bx = static_cast<double>(xy[2 * i + 2]) - x0;
    const double by = static_cast<double>(xy[2 * i + 3]) - y0;
    sum += ax * by - bx * ay;
  }
  return sum;
}

// Length of the closed ring, last point joined back to the first.
template <typename T>
double perimeter(const T* xy, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const size_t j = i + 1 == n ? 0 : i + 1;
    const double dx = static_cast<double>(xy[2 * j]) - static_cast<double>(xy[2 * i]);
    const double dy = static_cast<double>(xy[2 * j + 1]) - static_cast<double>(xy[2 * i + 1]);
    sum += std::sqrt(dx * dx + dy * dy);
  }
  return sum;
}

}  // namespace sightline
