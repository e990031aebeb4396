#include "polygon_core.h"

#include "contour_extraction.h"
#include "region_assembly.h"

namespace sightline {

PackedRegions findPolygons(const PolygonRequest& request) {
  return assembleRegions(extractContours(request), request.options);
}

}  // namespace sightline
