// Suzuki–Abe border following (8-connected foreground, 4-connected background) on a padded
// int8 image, producing contours the way OpenCV's findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE)
// reports them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sightline {

// Pixel states in the padded image. The image has a one-pixel zero frame, so neighbour reads
// never leave the buffer.
constexpr int8_t kBackground = 0;
constexpr int8_t kUnvisited = 1;
constexpr int8_t kVisited = 2;           // on a followed border
constexpr int8_t kVisitedRightZero = -2; // on a followed border whose right neighbour (a 0) was examined

struct TracedContour {
  uint32_t pointStart;  // index of the first point (counted in points, not numbers)
  uint32_t pointCount;
  bool hole;
  uint32_t run;         // a run of the component the border belongs to (see RunComponents)
  int32_t label;
};

class BorderTracer {
 public:
  // marks: (width + 2) x (height + 2) padded image of kBackground / kUnvisited.
  BorderTracer(int8_t* marks, size_t stride);

  // Handles one maximal run of non-zero pixels [c0, c1) of padded row r, whose id is run. Runs
  // must arrive in raster order. An unvisited first pixel (its left neighbour is 0) starts the
  // outer border of a new component; a last pixel whose right neighbour has not been examined
  // yet starts a hole border.
  void processRun(size_t r, size_t c0, size_t c1, uint32_t run, int32_t label);

  std::vector<int32_t> points;  // x, y interleaved, image coordinates (pixel centres)
  std::vector<TracedContour> contours;

 private:
  // Follows one border from start, whose zero neighbour lies in direction fromDir.
  void follow(ptrdiff_t start, int fromDir, bool hole, uint32_t run, int32_t label, int32_t x,
              int32_t y);

  int8_t* marks_;
  ptrdiff_t stride_;
  ptrdiff_t offsets_[8];
};

}  // namespace sightline
