#include "contour_extraction.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "run_components.h"

namespace sightline {
namespace {

// The padded image: one zero pixel of frame on every side, plus slack so whole 64-bit words can
// be read at the end of the last row.
struct PaddedImage {
  size_t stride;
  size_t rows;
  std::unique_ptr<int8_t[]> marks;

  PaddedImage(size_t width, size_t height)
      : stride(width + 2), rows(height + 2), marks(new int8_t[stride * rows + 8]) {}

  void clearFrame() {
    std::memset(marks.get(), 0, stride);
    std::memset(marks.get() + (rows - 1) * stride, 0, stride + 8);
    for (size_t r = 1; r + 1 < rows; ++r) {
      marks[r * stride] = 0;
      marks[r * stride + stride - 1] = 0;
    }
  }
};

inline uint64_t loadWord(const int8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
// Memory order is significance order, so the lowest set bit finds the first byte.
inline size_t firstNonZeroByte(uint64_t word) { return static_cast<size_t>(__builtin_ctzll(word)) >> 3; }

inline size_t firstZeroByte(uint64_t word) {
  // The lowest flagged byte of this classic test is exact (false flags only appear above it).
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const uint64_t zeros = (word - kOnes) & ~word & kHighs;
  return zeros == 0 ? 8 : static_cast<size_t>(__builtin_ctzll(zeros)) >> 3;
}
#else
inline size_t firstNonZeroByte(uint64_t word) {
  unsigned char bytes[8];
  std::memcpy(bytes, &word, sizeof bytes);
  size_t i = 0;
  while (i < 8 && bytes[i] == 0) ++i;
  return i;
}

inline size_t firstZeroByte(uint64_t word) {
  unsigned char bytes[8];
  std::memcpy(bytes, &word, sizeof bytes);
  size_t i = 0;
  while (i < 8 && bytes[i] != 0) ++i;
  return i;
}
#endif

// Calls visit(c0, c1) for every maximal run of non-zero bytes in row[1 .. width], in order.
// row[0] and row[width + 1] are zero (the frame); words may be read past the row's end.
template <typename Visit>
inline void forEachRun(const int8_t* row, size_t width, Visit&& visit) {
  const size_t end = width + 1;
  size_t c = 1;
  while (c < end) {
    uint64_t v = loadWord(row + c);
    if (v == 0) {
      c += 8;
      continue;
    }
    c += firstNonZeroByte(v);
    if (c >= end) break;
    const size_t c0 = c;
    for (;;) {
      const size_t zero = firstZeroByte(loadWord(row + c));
      c += zero;
      if (zero < 8) break;
    }
    visit(c0, c);  // c <= end because row[end] is zero
  }
}

// Per-run figures gathered while scanning, folded into components once connectivity is known.
struct RunTotals {
  std::vector<uint32_t> length;
  std::vector<double> valueSum;  // probability maps only
};

// Groups contours by component: every run of a component shares a union–find root, and the one
// outer border traced from that component names it.
ExtractedContours resolveComponents(BorderTracer& tracer, RunComponents& runs,
                                    const RunTotals& totals, bool scored) {
  ExtractedContours out;
  out.scored = scored;
  std::vector<int32_t> componentOfRoot(runs.size(), -1);
  const size_t contourCount = tracer.contours.size();
  for (size_t i = 0; i < contourCount; ++i) {
    const TracedContour& c = tracer.contours[i];
    if (c.hole) continue;
    componentOfRoot[runs.find(c.run)] = static_cast<int32_t>(out.components.size());
    out.components.push_back({static_cast<int32_t>(i), c.label, 0.0, 0});
  }
  out.contourComponent.resize(contourCount);
  for (size_t i = 0; i < contourCount; ++i) {
    out.contourComponent[i] = componentOfRoot[runs.find(tracer.contours[i].run)];
  }
  for (uint32_t run = 0; run < runs.size(); ++run) {
    TracedComponent& component =
        out.components[static_cast<size_t>(componentOfRoot[runs.find(run)])];
    component.pixelCount += totals.length[run];
    if (scored) component.valueSum += totals.valueSum[run];
  }
  out.points = std::move(tracer.points);
  out.contours = std::move(tracer.contours);
  return out;
}

ExtractedContours traceBinary(PaddedImage& image, size_t width, size_t height,
                              const float* probabilities) {
  BorderTracer tracer(image.marks.get(), image.stride);
  RunComponents runs;
  RunTotals totals;
  for (size_t r = 1; r <= height; ++r) {
    const int8_t* row = image.marks.get() + r * image.stride;
    forEachRun(row, width, [&](size_t c0, size_t c1) {
      const uint32_t run = runs.add(r, c0, c1);
      tracer.processRun(r, c0, c1, run, 1);
      totals.length.push_back(static_cast<uint32_t>(c1 - c0));
      if (probabilities != nullptr) {
        const float* p = probabilities + (r - 1) * width + (c0 - 1);
        double runSum = 0;
        for (size_t i = 0; i < c1 - c0; ++i) runSum += static_cast<double>(p[i]);
        totals.valueSum.push_back(runSum);
      }
    });
  }
  return resolveComponents(tracer, runs, totals, probabilities != nullptr);
}

ExtractedContours fromMask(const PolygonRequest& request) {
  const size_t w = request.width;
  const size_t h = request.height;
  PaddedImage image(w, h);
  image.clearFrame();
  const uint8_t* src = static_cast<const uint8_t*>(request.data);
  for (size_t y = 0; y < h; ++y) {
    int8_t* row = image.marks.get() + (y + 1) * image.stride + 1;
    const uint8_t* in = src + y * w;
    for (size_t x = 0; x < w; ++x) row[x] = static_cast<int8_t>(in[x] != 0);
  }
  return traceBinary(image, w, h, nullptr);
}

ExtractedContours fromProbabilities(const PolygonRequest& request) {
  const size_t w = request.width;
  const size_t h = request.height;
  const float* src = static_cast<const float*>(request.data);
  const double threshold = request.threshold;
  PaddedImage image(w, h);
  image.clearFrame();
  for (size_t y = 0; y < h; ++y) {
    int8_t* row = image.marks.get() + (y + 1) * image.stride + 1;
    const float* in = src + y * w;
    bool finite = true;
    for (size_t x = 0; x < w; ++x) {
      const float v = in[x];
      finite &= (v - v == 0.0f);  // false for NaN and for ±Infinity
      row[x] = static_cast<int8_t>(static_cast<double>(v) > threshold);
    }
    if (!finite) {
      for (size_t x = 0; x < w; ++x) {
        const float v = in[x];
        if (!(v - v == 0.0f)) {
          throw InputError(InputError::Kind::Range,
                           "input.data[" + std::to_string(y * w + x) +
                               "] is not a finite number; probabilities must be finite");
        }
      }
    }
  }
  return traceBinary(image, w, h, src);
}

struct LabelRun {
  int32_t label;
  uint32_t row;  // padded row
  uint32_t c0;   // padded columns [c0, c1)
  uint32_t c1;
};

template <typename T>
std::vector<LabelRun> collectLabelRuns(const T* src, size_t w, size_t h, int32_t background) {
  std::vector<LabelRun> runs;
  for (size_t y = 0; y < h; ++y) {
    const T* in = src + y * w;
    size_t x = 0;
    while (x < w) {
      const int32_t v = static_cast<int32_t>(in[x]);
      size_t e = x + 1;
      while (e < w && static_cast<int32_t>(in[e]) == v) ++e;
      if (v != background) {
        runs.push_back({v, static_cast<uint32_t>(y + 1), static_cast<uint32_t>(x + 1),
                        static_cast<uint32_t>(e + 1)});
      }
      x = e;
    }
  }
  // Label by label, raster order kept within each label.
  std::stable_sort(runs.begin(), runs.end(),
                   [](const LabelRun& a, const LabelRun& b) { return a.label < b.label; });
  return runs;
}

// Each label is traced as its own binary mask: its runs are drawn into a shared zeroed image,
// traced in raster order, then erased again, so the cost follows the label's pixels, not the
// image size.
ExtractedContours fromLabels(const PolygonRequest& request) {
  const size_t w = request.width;
  const size_t h = request.height;
  const std::vector<LabelRun> runs =
      request.type == ElementType::U8
          ? collectLabelRuns(static_cast<const uint8_t*>(request.data), w, h, request.background)
          : collectLabelRuns(static_cast<const int32_t*>(request.data), w, h, request.background);
  PaddedImage image(w, h);
  std::memset(image.marks.get(), 0, image.stride * image.rows + 8);
  BorderTracer tracer(image.marks.get(), image.stride);
  RunComponents components;
  RunTotals totals;
  int8_t* marks = image.marks.get();
  size_t begin = 0;
  while (begin < runs.size()) {
    size_t end = begin;
    const int32_t label = runs[begin].label;
    while (end < runs.size() && runs[end].label == label) ++end;
    for (size_t i = begin; i < end; ++i) {
      const LabelRun& run = runs[i];
      std::memset(marks + run.row * image.stride + run.c0, kUnvisited, run.c1 - run.c0);
    }
    components.separate();
    for (size_t i = begin; i < end; ++i) {
      const LabelRun& run = runs[i];
      const uint32_t id = components.add(run.row, run.c0, run.c1);
      tracer.processRun(run.row, run.c0, run.c1, id, label);
      totals.length.push_back(run.c1 - run.c0);
    }
    for (size_t i = begin; i < end; ++i) {
      const LabelRun& run = runs[i];
      std::memset(marks + run.row * image.stride + run.c0, kBackground, run.c1 - run.c0);
    }
    begin = end;
  }
  return resolveComponents(tracer, components, totals, false);
}

}  // namespace

ExtractedContours extractContours(const PolygonRequest& request) {
  switch (request.kind) {
    case InputKind::Mask:
      return fromMask(request);
    case InputKind::Probability:
      return fromProbabilities(request);
    case InputKind::Labels:
      return fromLabels(request);
  }
  return {};
}

}  // namespace sightline
