// DB-style "unclip": grows a ring outward the way PaddleOCR's DB post-processing does with
// pyclipper (round joins), by distance = area × ratio / perimeter.
#pragma once

#include <cstddef>
#include <vector>

namespace sightline {

// How far round joins may stray from the true arc, in pixels (pyclipper's default as well).
constexpr double kArcTolerance = 0.25;
// At most 2^6 chords per join, so one join never adds more than 64 points.
constexpr int kMaxArcLevels = 6;
// Work limits for resolving self-intersections; past them the offset of the ring's convex hull
// is returned instead (a superset of the exact answer).
constexpr double kPairBudget = 20000000;
constexpr double kCrossingBudget = 1000000;

// Appends the offset ring (x, y interleaved, outer orientation: counter-clockwise on screen with
// y down) and returns its point count. Rings with fewer than three points or no area, or a
// distance that is not positive, are appended unchanged.
//
// Approach: every vertex of the ring (oriented so its interior is on the left) is moved out along
// the normals of its two edges; convex vertices get a round join (arc chords no farther than
// kArcTolerance from the arc), concave vertices are joined through the vertex itself, as clipper
// does. That raw curve can cross itself where the ring is concave or where parts of it come
// closer than twice the distance. The result is its outer envelope, found by walking the curve
// from its leftmost point and, at every crossing, turning onto the branch that bends rightward
// (outward). Holes that the growth encloses are filled, which suits text boxes.
size_t unclipRing(const double* xy, size_t n, double ratio, std::vector<double>& out);

}  // namespace sightline
