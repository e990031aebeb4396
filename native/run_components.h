// Connected components of foreground runs (8-connectivity) by union–find: runs in consecutive
// rows belong together when their column ranges overlap or touch diagonally. Memory follows the
// number of runs, not the image size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sightline {

class RunComponents {
 public:
  // Registers run [c0, c1) of row r and joins it with the touching runs of row r − 1.
  // Runs must arrive in raster order. Returns the run's id (0, 1, 2, ...).
  uint32_t add(size_t r, size_t c0, size_t c1);

  // Forgets the current row, so the next run joins nothing above it (a new label's first run).
  void separate();

  // Representative run of the component holding run.
  uint32_t find(uint32_t run);

  size_t size() const { return parent_.size(); }

 private:
  struct RowRun {
    size_t c0;
    size_t c1;
    uint32_t id;
  };

  void join(uint32_t a, uint32_t b);

  std::vector<uint32_t> parent_;
  std::vector<RowRun> previous_;
  std::vector<RowRun> current_;
  size_t row_ = static_cast<size_t>(-1);
  size_t cursor_ = 0;  // first run of previous_ that can still touch the next run of this row
};

}  // namespace sightline
