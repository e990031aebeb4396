// Random-input driver for the polygon core, built with AddressSanitizer and
// UndefinedBehaviorSanitizer by run.sh. Sanitizer reports abort the run; the driver itself checks
// the invariants every result must satisfy and counts violations as findings.
//
//   polygon_fuzz --seconds 60 --seed 1234 [--verbose]
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "../polygon_core.h"

namespace {

using sightline::ElementType;
using sightline::InputError;
using sightline::InputKind;
using sightline::PackedRegions;
using sightline::PolygonRequest;

struct Case {
  PolygonRequest request;
  std::vector<uint8_t> bytes;
  std::vector<float> floats;
  std::vector<int32_t> ints;
  bool poisoned = false;  // holds a non-finite probability: must be rejected
  std::string describe() const {
    const char* kinds[] = {"mask", "probability", "labels"};
    char text[256];
    std::snprintf(text, sizeof text,
                  "%s %zux%zu threshold=%g background=%d epsilon=%g epsilonRatio=%g minArea=%g "
                  "maxPolygons=%lld unclipRatio=%g",
                  kinds[static_cast<int>(request.kind)], request.width, request.height,
                  request.threshold, request.background, request.options.epsilon,
                  request.options.epsilonRatio, request.options.minArea,
                  static_cast<long long>(request.options.maxPolygons), request.options.unclipRatio);
    return text;
  }
};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  Case next() {
    Case c;
    PolygonRequest& r = c.request;
    pickSize(r.width, r.height);
    const size_t n = r.width * r.height;
    const int kind = below(4);
    std::vector<uint8_t> shape = pattern(r.width, r.height);
    if (kind <= 1) {
      r.kind = InputKind::Mask;
      r.type = ElementType::U8;
      c.bytes = shape;
      r.data = c.bytes.data();
    } else if (kind == 2) {
      r.kind = InputKind::Probability;
      r.type = ElementType::F32;
      r.threshold = chance(0.2) ? (chance(0.5) ? 0.0 : 1.0) : uniform();
      c.floats.resize(n);
      for (size_t i = 0; i < n; ++i) {
        const double base = shape[i] ? 0.5 + uniform() * 0.5 : uniform() * 0.5;
        c.floats[i] = static_cast<float>(base);
      }
      if (chance(0.03)) {
        const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                             std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity()};
        c.floats[below(static_cast<int>(std::min<size_t>(n, 1 << 30)))] = bad[below(3)];
        c.poisoned = true;
      }
      r.data = c.floats.data();
    } else {
      r.kind = InputKind::Labels;
      const int labels = 1 + below(chance(0.2) ? 200 : 6);
      if (chance(0.5)) {
        r.type = ElementType::U8;
        c.bytes.resize(n);
        for (size_t i = 0; i < n; ++i) c.bytes[i] = shape[i] ? static_cast<uint8_t>(1 + below(labels)) : 0;
        r.data = c.bytes.data();
      } else {
        r.type = ElementType::I32;
        c.ints.resize(n);
        for (size_t i = 0; i < n; ++i) {
          c.ints[i] = shape[i] ? static_cast<int32_t>(rng_()) % (labels * 1000) : 0;
          if (chance(0.001)) c.ints[i] = chance(0.5) ? INT32_MIN : INT32_MAX;
        }
        r.data = c.ints.data();
      }
      r.background = chance(0.8) ? 0 : static_cast<int32_t>(below(3));
    }
    auto& o = r.options;
    if (chance(0.4)) o.epsilon = chance(0.5) ? uniform() * 4 : static_cast<double>(below(3));
    else if (chance(0.3)) o.epsilonRatio = uniform() * 0.05;
    if (chance(0.3)) o.minArea = uniform() * 20;
    if (chance(0.3)) o.maxPolygons = 1 + below(5);
    if (chance(0.35)) o.unclipRatio = chance(0.5) ? 1.5 : uniform() * 6;
    return c;
  }

 private:
  int below(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  double uniform() { return static_cast<double>(rng_() >> 11) * (1.0 / 9007199254740992.0); }
  bool chance(double p) { return uniform() < p; }

  void pickSize(size_t& w, size_t& h) {
    const int mode = below(10);
    if (mode < 6) {
      w = 1 + below(48);
      h = 1 + below(48);
    } else if (mode < 8) {
      w = 1 + below(300);
      h = 1 + below(300);
    } else if (mode == 8) {
      w = 1;
      h = 1 + below(3000);
      if (chance(0.5)) std::swap(w, h);
    } else {
      w = 1 + below(4);
      h = 1 + below(4);
    }
  }

  std::vector<uint8_t> pattern(size_t w, size_t h) {
    std::vector<uint8_t> m(w * h, 0);
    const int kind = below(8);
    if (kind == 0) {  // noise
      const double p = uniform();
      for (auto& v : m) v = chance(p) ? static_cast<uint8_t>(1 + below(255)) : 0;
    } else if (kind == 1) {  // ellipses, some nested with alternating fill
      const int count = 1 + below(8);
      for (int k = 0; k < count; ++k) {
        const double cx = uniform() * w, cy = uniform() * h;
        double rx = 0.5 + uniform() * w / 2, ry = 0.5 + uniform() * h / 2;
        uint8_t fill = 1;
        while (rx > 0.6 && ry > 0.6) {
          for (size_t y = 0; y < h; ++y) {
            for (size_t x = 0; x < w; ++x) {
              const double dx = (x - cx) / rx, dy = (y - cy) / ry;
              if (dx * dx + dy * dy <= 1) m[y * w + x] = fill;
            }
          }
          fill ^= 1;
          rx -= 1 + uniform() * 3;
          ry -= 1 + uniform() * 3;
        }
      }
    } else if (kind == 2) {  // checkerboard with defects
      for (size_t y = 0; y < h; ++y)
        for (size_t x = 0; x < w; ++x) m[y * w + x] = ((x + y) % 2 == 0) != chance(0.1);
    } else if (kind == 3) {  // random walks, one pixel wide
      const int count = 1 + below(6);
      for (int k = 0; k < count; ++k) {
        long x = below(static_cast<int>(w)), y = below(static_cast<int>(h));
        const int steps = 1 + below(static_cast<int>(w + h) * 2);
        for (int s = 0; s < steps; ++s) {
          if (x < 0 || y < 0 || x >= static_cast<long>(w) || y >= static_cast<long>(h)) break;
          m[static_cast<size_t>(y) * w + static_cast<size_t>(x)] = 1;
          x += below(3) - 1;
          y += below(3) - 1;
        }
      }
    } else if (kind == 4) {  // full
      std::fill(m.begin(), m.end(), static_cast<uint8_t>(1 + below(255)));
    } else if (kind == 5) {  // empty
    } else if (kind == 6) {  // rectangles
      const int count = 1 + below(10);
      for (int k = 0; k < count; ++k) {
        const size_t x0 = below(static_cast<int>(w)), y0 = below(static_cast<int>(h));
        const size_t x1 = std::min(w, x0 + 1 + below(static_cast<int>(w))),
                     y1 = std::min(h, y0 + 1 + below(static_cast<int>(h)));
        const uint8_t fill = chance(0.7);
        for (size_t y = y0; y < y1; ++y)
          for (size_t x = x0; x < x1; ++x) m[y * w + x] = fill;
      }
    } else {  // dense noise with holes
      for (auto& v : m) v = chance(0.85);
    }
    return m;
  }

  std::mt19937_64 rng_;
};

// Returns an empty string when the result satisfies every invariant, else what failed.
std::string check(const Case& c, const PackedRegions& p) {
  const auto& r = c.request;
  const auto& o = r.options;
  const bool simplified = o.epsilon > 0 || o.epsilonRatio > 0;
  const bool grown = o.unclipRatio > 0;
  const size_t fields = sightline::kRegionFields;
  if (p.regions.size() % fields != 0) return "region table size";
  if (p.rings.size() % 2 != 0) return "ring table size";
  if (p.scored != (r.kind == InputKind::Probability)) return "scored flag";
  size_t expectedRing = 0;
  double previousArea = std::numeric_limits<double>::infinity();
  double previousLabel = -std::numeric_limits<double>::infinity();
  std::vector<int> perLabel;
  int labelCount = 0;
  for (size_t k = 0; k < p.regions.size(); k += fields) {
    const double* f = &p.regions[k];
    const double label = f[sightline::kLabel];
    if (label < previousLabel) return "labels not ascending";
    if (label != previousLabel) {
      previousArea = std::numeric_limits<double>::infinity();
      labelCount = 0;
    }
    ++labelCount;
    if (o.maxPolygons > 0 && labelCount > o.maxPolygons) return "more than maxPolygons";
    previousLabel = label;
    if (r.kind != InputKind::Labels && label != 1) return "label of a mask";
    if (r.kind == InputKind::Labels && label == r.background) return "background label traced";
    const double area = f[sightline::kArea];
    if (!std::isfinite(area)) return "area not finite";
    if (!grown) {
      if (area > previousArea) return "areas not descending";
      if (area < o.minArea) return "area below minArea";
      if (area < 0 && !simplified) return "negative area";
    }
    previousArea = area;
    if (static_cast<size_t>(f[sightline::kFirstRing]) != expectedRing) return "rings not consecutive";
    const size_t ringCount = static_cast<size_t>(f[sightline::kRingCount]);
    if (ringCount < 1 || (grown && ringCount != 1)) return "ring count";
    expectedRing += ringCount;
    if (expectedRing * 2 > p.rings.size()) return "ring index out of range";
    if (r.kind == InputKind::Probability) {
      const double score = f[sightline::kScore];
      if (!(score > r.threshold && score <= 1)) return "score outside (threshold, 1]";
    }
    double minX = std::numeric_limits<double>::infinity(), maxX = -minX, minY = minX, maxY = -minX;
    for (size_t ring = static_cast<size_t>(f[sightline::kFirstRing]); ring < expectedRing; ++ring) {
      const size_t start = p.rings[2 * ring], count = p.rings[2 * ring + 1];
      if (count == 0 || start % 2 != 0 || start + 2 * count > p.coords.size()) return "ring bounds";
      double s2 = 0;
      for (size_t i = 0; i < count; ++i) {
        const double x = p.coords[start + 2 * i], y = p.coords[start + 2 * i + 1];
        if (!std::isfinite(x) || !std::isfinite(y)) return "coordinate not finite";
        if (!grown && (x != std::floor(x) || y != std::floor(y) || x < 0 || y < 0 ||
                       x > static_cast<double>(r.width - 1) || y > static_cast<double>(r.height - 1))) {
          return "coordinate outside the image";
        }
        const size_t j = (i + 1) % count;
        s2 += x * p.coords[start + 2 * j + 1] - p.coords[start + 2 * j] * y;
        if (ring == static_cast<size_t>(f[sightline::kFirstRing])) {
          minX = std::min(minX, x);
          maxX = std::max(maxX, x);
          minY = std::min(minY, y);
          maxY = std::max(maxY, y);
        }
      }
      const bool outer = ring == static_cast<size_t>(f[sightline::kFirstRing]);
      if (!simplified && !grown && outer && s2 > 0) return "outer ring clockwise";
      if (!simplified && !grown && !outer && !(s2 > 0)) return "hole ring not clockwise";
      if (grown && outer && count >= 3 && s2 > 0) return "grown ring clockwise";
    }
    if (minX != f[sightline::kMinX] || maxX != f[sightline::kMaxX] || minY != f[sightline::kMinY] ||
        maxY != f[sightline::kMaxY]) {
      return "bbox";
    }
  }
  if (expectedRing * 2 != p.rings.size()) return "unreferenced rings";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 60;
  uint64_t seed = 1;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--seed") && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (!std::strcmp(argv[i], "--verbose")) verbose = true;
  }
  Generator generator(seed);
  const auto start = std::chrono::steady_clock::now();
  uint64_t cases = 0, findings = 0, rejected = 0;
  for (;;) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (elapsed >= seconds) break;
    const Case c = generator.next();
    ++cases;
    std::string problem;
    try {
      const PackedRegions first = sightline::findPolygons(c.request);
      if (c.poisoned) {
        problem = "non-finite probability accepted";
      } else {
        problem = check(c, first);
        const PackedRegions second = sightline::findPolygons(c.request);
        if (problem.empty() && (first.coords != second.coords || first.rings != second.rings ||
                                first.regions.size() != second.regions.size())) {
          problem = "results differ between two runs";
        }
      }
    } catch (const InputError& e) {
      ++rejected;
      if (!c.poisoned) problem = std::string("unexpected InputError: ") + e.what();
    } catch (const std::exception& e) {
      problem = std::string("exception: ") + e.what();
    }
    if (!problem.empty()) {
      ++findings;
      std::printf("finding #%llu (case %llu): %s\n  %s\n", static_cast<unsigned long long>(findings),
                  static_cast<unsigned long long>(cases), problem.c_str(), c.describe().c_str());
    } else if (verbose) {
      std::printf("case %llu ok: %s\n", static_cast<unsigned long long>(cases), c.describe().c_str());
    }
  }
  std::printf("polygon fuzz: seed %llu, %llu cases (%llu rejected as invalid), %llu findings\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(cases),
              static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(findings));
  return findings == 0 ? 0 : 1;
}
