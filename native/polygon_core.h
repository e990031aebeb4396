// The polygon core's single entry point, free of N-API so it can run on any thread and be
// fuzzed on its own.
#pragma once

#include "polygon_request.h"

namespace sightline {

// request must already be validated (dimensions, lengths, options). Throws InputError for
// problems only visible in the data itself (a non-finite probability).
PackedRegions findPolygons(const PolygonRequest& request);

}  // namespace sightline
