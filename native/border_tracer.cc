#include "border_tracer.h"

namespace sightline {
namespace {

// Direction codes in image coordinates (y down): 0 is +x, and codes increase counter-clockwise
// as seen on screen (1 is up-right, 2 is up, ..., 6 is down, 7 is down-right).
constexpr int kDx[8] = {1, 1, 0, -1, -1, -1, 0, 1};
constexpr int kDy[8] = {0, -1, -1, -1, 0, 1, 1, 1};
constexpr int kLeft = 4;
constexpr int kRight = 0;

}  // namespace

BorderTracer::BorderTracer(int8_t* marks, size_t stride)
    : marks_(marks), stride_(static_cast<ptrdiff_t>(stride)) {
  for (int d = 0; d < 8; ++d) offsets_[d] = kDx[d] + kDy[d] * stride_;
}

void BorderTracer::processRun(size_t r, size_t c0, size_t c1, uint32_t run, int32_t label) {
  const ptrdiff_t first = static_cast<ptrdiff_t>(r) * stride_ + static_cast<ptrdiff_t>(c0);
  const ptrdiff_t last = static_cast<ptrdiff_t>(r) * stride_ + static_cast<ptrdiff_t>(c1) - 1;
  const int32_t y = static_cast<int32_t>(r) - 1;
  bool outerStarted = false;
  if (marks_[first] == kUnvisited) {
    follow(first, kLeft, false, run, label, static_cast<int32_t>(c0) - 1, y);
    outerStarted = true;
  }
  // The run start that just began an outer border is not checked again: for one pixel the two
  // tests are alternatives.
  if (!(outerStarted && last == first) && marks_[last] >= kUnvisited) {
    follow(last, kRight, true, run, label, static_cast<int32_t>(c1) - 2, y);
  }
}

void BorderTracer::follow(ptrdiff_t start, int fromDir, bool hole, uint32_t run, int32_t label,
                          int32_t x, int32_t y) {
  const uint32_t pointStart = static_cast<uint32_t>(points.size() / 2);
  int8_t* const m = marks_;

  // Look clockwise around the start, beginning next to its zero neighbour, for the border's
  // last pixel (the one the walk returns from).
  int found = -1;
  int d = fromDir;
  for (int k = 0; k < 7; ++k) {
    d = (d + 7) & 7;
    if (m[start + offsets_[d]] != kBackground) {
      found = d;
      break;
    }
  }
  if (found < 0) {
    // An isolated pixel: a one-point contour.
    m[start] = kVisitedRightZero;
    points.push_back(x);
    points.push_back(y);
    contours.push_back({pointStart, 1, hole, run, label});
    return;
  }

  const ptrdiff_t last = start + offsets_[found];
  // CHAIN_APPROX_SIMPLE keeps a pixel only where the walk changes direction; the walk enters the
  // start pixel from the last one.
  int incoming = (found + 4) & 7;
  ptrdiff_t current = start;
  int back = found;  // direction from current to the pixel the walk came from
  for (;;) {
    // Examine the neighbours counter-clockwise, starting just after the previous pixel.
    bool rightZero = false;
    int s = back;
    ptrdiff_t next;
    for (;;) {
      s = (s + 1) & 7;
      next = current + offsets_[s];
      if (m[next] != kBackground) break;
      if (s == kRight) rightZero = true;
    }
    if (rightZero) {
      m[current] = kVisitedRightZero;
    } else if (m[current] == kUnvisited) {
      m[current] = kVisited;
    }
    if (s != incoming) {
      points.push_back(x);
      points.push_back(y);
      incoming = s;
    }
    x += kDx[s];
    y += kDy[s];
    if (next == start && current == last) break;
    back = (s + 4) & 7;
    current = next;
  }
  contours.push_back(
      {pointStart, static_cast<uint32_t>(points.size() / 2) - pointStart, hole, run, label});
}

}  // namespace sightline
