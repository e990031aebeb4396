// Turns a validated request (binary mask, probability map or label map) into traced contours
// grouped by connected component.
#pragma once

#include <cstdint>
#include <vector>

#include "border_tracer.h"
#include "polygon_request.h"

namespace sightline {

// One 8-connected foreground component: its outer border and what is summed over its pixels.
struct TracedComponent {
  int32_t outer;        // index into contours
  int32_t label;
  double valueSum;      // probability maps: sum of probabilities over the component's pixels
  uint64_t pixelCount;
};

struct ExtractedContours {
  std::vector<int32_t> points;
  std::vector<TracedContour> contours;
  std::vector<int32_t> contourComponent;    // per contour: index into components
  std::vector<TracedComponent> components;  // in the order their outer borders were found:
                                            // by label, ascending, then raster order
  bool scored = false;
};

// Throws InputError for a probability map holding a non-finite value.
ExtractedContours extractContours(const PolygonRequest& request);

}  // namespace sightline
