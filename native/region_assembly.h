// Turns traced contours into regions: simplification, areas, filtering, ordering, unclip, packing.
#pragma once

#include "contour_extraction.h"
#include "polygon_request.h"

namespace sightline {

// Regions come out label by label (ascending), largest area first within a label (ties in
// raster order of the outer border's first pixel), at most options.maxPolygons per label.
PackedRegions assembleRegions(const ExtractedContours& traced, const PolygonOptions& options);

}  // namespace sightline
