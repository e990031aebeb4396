#include "region_assembly.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "ring_measure.h"
#include "ring_offset.h"
#include "ring_simplify.h"

namespace sightline {
namespace {

// A contour's points after optional simplification.
struct RingView {
  const int32_t* xy;
  size_t count;
};

struct Draft {
  int32_t component;
  double area;
};

}  // namespace

PackedRegions assembleRegions(const ExtractedContours& traced, const PolygonOptions& options) {
  const size_t contourCount = traced.contours.size();
  const size_t componentCount = traced.components.size();

  // Holes grouped by component, in the order they were found.
  std::vector<uint32_t> holeStart(componentCount + 1, 0);
  for (size_t i = 0; i < contourCount; ++i) {
    if (traced.contours[i].hole) ++holeStart[static_cast<size_t>(traced.contourComponent[i]) + 1];
  }
  for (size_t i = 0; i < componentCount; ++i) holeStart[i + 1] += holeStart[i];
  std::vector<uint32_t> holes(holeStart[componentCount]);
  {
    std::vector<uint32_t> fill(holeStart.begin(), holeStart.end() - 1);
    for (size_t i = 0; i < contourCount; ++i) {
      const TracedContour& c = traced.contours[i];
      if (c.hole) holes[fill[static_cast<size_t>(traced.contourComponent[i])]++] = static_cast<uint32_t>(i);
    }
  }

  // Simplify every ring (or view the traced points as they are).
  const bool simplify = options.epsilon > 0 || options.epsilonRatio > 0;
  std::vector<int32_t> simplified;
  std::vector<size_t> simplifiedStart;
  std::vector<RingView> rings(contourCount);
  if (simplify) {
    simplified.reserve(traced.points.size());
    simplifiedStart.resize(contourCount + 1);
    for (size_t i = 0; i < contourCount; ++i) {
      const TracedContour& c = traced.contours[i];
      const int32_t* xy = traced.points.data() + 2 * static_cast<size_t>(c.pointStart);
      const double epsilon = options.epsilonRatio > 0
                                 ? options.epsilonRatio * perimeter(xy, c.pointCount)
                                 : options.epsilon;
      simplifiedStart[i] = simplified.size();
      simplifyRing(xy, c.pointCount, epsilon, simplified);
    }
    simplifiedStart[contourCount] = simplified.size();
    for (size_t i = 0; i < contourCount; ++i) {
      rings[i] = {simplified.data() + simplifiedStart[i],
                  (simplifiedStart[i + 1] - simplifiedStart[i]) / 2};
    }
  } else {
    for (size_t i = 0; i < contourCount; ++i) {
      const TracedContour& c = traced.contours[i];
      rings[i] = {traced.points.data() + 2 * static_cast<size_t>(c.pointStart), c.pointCount};
    }
  }

  // Areas (holes subtracted) and the minArea filter.
  std::vector<Draft> drafts;
  drafts.reserve(componentCount);
  for (size_t k = 0; k < componentCount; ++k) {
    const RingView& outer = rings[static_cast<size_t>(traced.components[k].outer)];
    double area = std::fabs(shoelace2(outer.xy, outer.count)) / 2;
    for (uint32_t h = holeStart[k]; h < holeStart[k + 1]; ++h) {
      const RingView& hole = rings[holes[h]];
      area -= std::fabs(shoelace2(hole.xy, hole.count)) / 2;
    }
    if (area >= options.minArea) drafts.push_back({static_cast<int32_t>(k), area});
  }

  // Largest first within each label; components already arrive grouped by label.
  std::vector<Draft> chosen;
  chosen.reserve(drafts.size());
  size_t begin = 0;
  while (begin < drafts.size()) {
    const int32_t label = traced.components[static_cast<size_t>(drafts[begin].component)].label;
    size_t end = begin;
    while (end < drafts.size() &&
           traced.components[static_cast<size_t>(drafts[end].component)].label == label) {
      ++end;
    }
    std::stable_sort(drafts.begin() + static_cast<ptrdiff_t>(begin),
                     drafts.begin() + static_cast<ptrdiff_t>(end),
                     [](const Draft& a, const Draft& b) { return a.area > b.area; });
    size_t take = end - begin;
    if (options.maxPolygons > 0 && static_cast<uint64_t>(options.maxPolygons) < take) {
      take = static_cast<size_t>(options.maxPolygons);
    }
    chosen.insert(chosen.end(), drafts.begin() + static_cast<ptrdiff_t>(begin),
                  drafts.begin() + static_cast<ptrdiff_t>(begin + take));
    begin = end;
  }

  PackedRegions packed;
  packed.scored = traced.scored;
  packed.regions.reserve(chosen.size() * kRegionFields);
  std::vector<double> scratch;
  for (const Draft& draft : chosen) {
    const size_t k = static_cast<size_t>(draft.component);
    const TracedComponent& component = traced.components[k];
    const RingView& outer = rings[static_cast<size_t>(component.outer)];
    const size_t firstRing = packed.rings.size() / 2;
    const size_t outerStart = packed.coords.size();
    double area = draft.area;
    size_t ringCount = 1;
    if (options.unclipRatio > 0) {
      scratch.assign(outer.xy, outer.xy + 2 * outer.count);
      const size_t count = unclipRing(scratch.data(), outer.count, options.unclipRatio, packed.coords);
      packed.rings.push_back(static_cast<uint32_t>(outerStart));
      packed.rings.push_back(static_cast<uint32_t>(count));
      area = std::fabs(shoelace2(packed.coords.data() + outerStart, count)) / 2;
    } else {
      packed.coords.insert(packed.coords.end(), outer.xy, outer.xy + 2 * outer.count);
      packed.rings.push_back(static_cast<uint32_t>(outerStart));
      packed.rings.push_back(static_cast<uint32_t>(outer.count));
      for (uint32_t h = holeStart[k]; h < holeStart[k + 1]; ++h) {
        const RingView& hole = rings[holes[h]];
        packed.rings.push_back(static_cast<uint32_t>(packed.coords.size()));
        packed.rings.push_back(static_cast<uint32_t>(hole.count));
        packed.coords.insert(packed.coords.end(), hole.xy, hole.xy + 2 * hole.count);
        ++ringCount;
      }
    }
    const size_t outerCount = packed.rings[2 * firstRing + 1];
    double minX = std::numeric_limits<double>::infinity(), minY = minX;
    double maxX = -minX, maxY = -minX;
    for (size_t i = 0; i < outerCount; ++i) {
      const double x = packed.coords[outerStart + 2 * i];
      const double y = packed.coords[outerStart + 2 * i + 1];
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
    const double score = traced.scored && component.pixelCount > 0
                             ? component.valueSum / static_cast<double>(component.pixelCount)
                             : std::numeric_limits<double>::quiet_NaN();
    const double fields[kRegionFields] = {static_cast<double>(component.label),
                                          area,
                                          minX,
                                          minY,
                                          maxX,
                                          maxY,
                                          score,
                                          static_cast<double>(firstRing),
                                          static_cast<double>(ringCount)};
    packed.regions.insert(packed.regions.end(), fields, fields + kRegionFields);
  }
  return packed;
}

}  // namespace sightline
