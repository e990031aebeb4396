// Plain data shared by the polygon core and its callers (the N-API binding, the fuzz driver).
// Nothing here depends on N-API, so the core can be built and fuzzed on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace sightline {

enum class InputKind { Mask, Probability, Labels };
enum class ElementType { U8, F32, I32 };

// Limits shared with the TypeScript implementation; messages quote them.
constexpr double kMaxSide = 1048576;          // 2^20 pixels per side
constexpr double kMaxPixels = 268435456;      // 2^28 pixels in all

struct PolygonOptions {
  double epsilon = 0;        // Douglas–Peucker tolerance in pixels (0: keep every contour point)
  double epsilonRatio = 0;   // tolerance as a fraction of each ring's perimeter (0: unused)
  double minArea = 0;        // regions with a smaller area are dropped
  int64_t maxPolygons = 0;   // per label, largest first (0: unlimited)
  double unclipRatio = 0;    // DB-style outward offset ratio (0: no offset)
};

struct PolygonRequest {
  InputKind kind = InputKind::Mask;
  ElementType type = ElementType::U8;
  const void* data = nullptr;
  size_t width = 0;
  size_t height = 0;
  double threshold = 0.5;    // probability maps: foreground is p > threshold
  int32_t background = 0;    // label maps: this label yields no polygons
  PolygonOptions options;
};

// Regions packed into three flat tables so the binding can hand them to JavaScript with a few copies.
//   coords:  x, y interleaved for every ring, pixel-centre coordinates
//   rings:   per ring [offset into coords, point count]
//   regions: per region kRegionFields numbers (see RegionField)
struct PackedRegions {
  std::vector<double> coords;
  std::vector<uint32_t> rings;
  std::vector<double> regions;
  bool scored = false;
};

enum RegionField {
  kLabel = 0,
  kArea,
  kMinX,
  kMinY,
  kMaxX,
  kMaxY,
  kScore,
  kFirstRing,
  kRingCount,
  kRegionFields
};

// Bad input detected by the core; the binding turns it into a JavaScript TypeError or RangeError.
class InputError : public std::runtime_error {
 public:
  enum class Kind { Type, Range };
  InputError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace sightline
