// Douglas–Peucker simplification of closed rings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sightline {

// Appends to out (x, y interleaved) the points of the ring that Douglas–Peucker keeps with
// tolerance epsilon: the first point, the point farthest from it, and recursively every point
// farther than epsilon from the segment joining its kept neighbours. Every dropped point lies
// within epsilon of the simplified ring. Returns the number of points appended.
size_t simplifyRing(const int32_t* xy, size_t n, double epsilon, std::vector<int32_t>& out);

}  // namespace sightline
