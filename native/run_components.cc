#include "run_components.h"

#include <utility>

namespace sightline {

uint32_t RunComponents::add(size_t r, size_t c0, size_t c1) {
  if (r != row_) {
    if (r == row_ + 1) {
      previous_.swap(current_);
    } else {
      previous_.clear();
    }
    current_.clear();
    row_ = r;
    cursor_ = 0;
  }
  const uint32_t id = static_cast<uint32_t>(parent_.size());
  parent_.push_back(id);
  current_.push_back({c0, c1, id});
  // Pixels [c0, c1) touch pixels [p.c0, p.c1) of the row above when p.c0 <= c1 and c0 <= p.c1
  // (the last pixel of one run is at most one column away from the first of the other).
  while (cursor_ < previous_.size() && previous_[cursor_].c1 < c0) ++cursor_;
  for (size_t k = cursor_; k < previous_.size() && previous_[k].c0 <= c1; ++k) join(id, previous_[k].id);
  return id;
}

void RunComponents::separate() {
  previous_.clear();
  current_.clear();
  row_ = static_cast<size_t>(-1);
  cursor_ = 0;
}

uint32_t RunComponents::find(uint32_t run) {
  while (parent_[run] != run) {
    parent_[run] = parent_[parent_[run]];  // path halving
    run = parent_[run];
  }
  return run;
}

void RunComponents::join(uint32_t a, uint32_t b) {
  uint32_t ra = find(a);
  uint32_t rb = find(b);
  if (ra == rb) return;
  if (ra < rb) std::swap(ra, rb);
  parent_[ra] = rb;
}

}  // namespace sightline
