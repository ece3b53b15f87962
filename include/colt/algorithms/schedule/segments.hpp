#pragma once
// How a buffer is cut: into per-rank segments (even, or from explicit counts) and a segment into
// pipeline chunks. Pure arithmetic on partition::Range, shared by every algorithm, tested
// without any transport.

#include <algorithm>
#include <cstddef>
#include <span>

#include "colt/core/partition.hpp"

namespace colt::schedule {

// Per-rank segments of a buffer: an even split of `total`, explicit counts laid out back to back
// (the `v` collectives), or some parts of other segments, in a given order (a group of a call's
// ranks, each with its own segment where it lies in the whole buffer: the two-level algorithms).
// The algorithms reach segments through operator[] alone, so they run on any of the three.
class Segments {
 public:
  static constexpr Segments even(std::size_t total, int parts) { return Segments(total, parts); }
  static constexpr Segments from_counts(std::span<const std::size_t> counts) {
    return Segments(counts);
  }
  // Part i is whole[parts[i]]; `whole` and `parts` must outlive the result.
  static constexpr Segments picked(const Segments& whole, std::span<const int> parts) {
    return Segments(whole, parts);
  }

  constexpr int parts() const { return parts_; }
  constexpr partition::Range operator[](int part) const {
    if (whole_) return (*whole_)[picked_[static_cast<std::size_t>(part)]];
    if (counts_.empty()) return partition::even_part(total_, parts_, part);
    std::size_t begin = 0;
    for (int i = 0; i < part; ++i) begin += counts_[static_cast<std::size_t>(i)];
    return {begin, begin + counts_[static_cast<std::size_t>(part)]};
  }
  constexpr std::size_t largest() const {
    if (whole_) {
      std::size_t largest = 0;
      for (int i = 0; i < parts_; ++i) largest = std::max(largest, (*this)[i].size());
      return largest;
    }
    if (counts_.empty()) return partition::even_part(total_, parts_, 0).size();
    std::size_t largest = 0;
    for (std::size_t c : counts_) largest = c > largest ? c : largest;
    return largest;
  }

 private:
  constexpr Segments(std::size_t total, int parts) : total_(total), parts_(parts) {}
  constexpr explicit Segments(std::span<const std::size_t> counts)
      : counts_(counts), parts_(static_cast<int>(counts.size())) {
    for (std::size_t c : counts) total_ += c;
  }
  constexpr Segments(const Segments& whole, std::span<const int> parts)
      : picked_(parts), whole_(&whole), parts_(static_cast<int>(parts.size())) {}
  std::span<const std::size_t> counts_;
  std::span<const int> picked_;
  const Segments* whole_ = nullptr;
  std::size_t total_ = 0;
  int parts_ = 1;
};

// Number of pipeline chunks so that no chunk of a segment of `largest_count` elements exceeds
// `chunk_elements`; every segment is then cut into the same number of chunks, so all ranks
// agree on the message sequence even when segments differ in size.
constexpr std::size_t chunk_count(std::size_t largest_count, std::size_t chunk_elements) {
  if (chunk_elements == 0) chunk_elements = 1;
  std::size_t chunks = (largest_count + chunk_elements - 1) / chunk_elements;
  return chunks ? chunks : 1;
}

// Chunk `c` of `chunks` of a range.
constexpr partition::Range chunk_of(partition::Range range, std::size_t chunks, std::size_t c) {
  const partition::Range piece =
      partition::even_part(range.size(), static_cast<int>(chunks), static_cast<int>(c));
  return {range.begin + piece.begin, range.begin + piece.end};
}

}  // namespace colt::schedule
