#pragma once
// How a buffer is cut: into per-rank segments (even, or from explicit counts) and a segment into
// pipeline chunks. Pure arithmetic, shared by every algorithm, tested without any transport.

#include <cstddef>
#include <span>

namespace colt::schedule {

struct Range {
  std::size_t offset = 0;
  std::size_t count = 0;
  friend constexpr bool operator==(Range, Range) = default;
};

// Segment `part` of `count` elements split into `parts` near-equal pieces; the first
// count % parts pieces are one element longer.
constexpr Range even_part(std::size_t count, int parts, int part) {
  const std::size_t p = static_cast<std::size_t>(parts), i = static_cast<std::size_t>(part);
  const std::size_t base = count / p, extra = count % p;
  return {i * base + (i < extra ? i : extra), base + (i < extra ? 1 : 0)};
}

// Per-rank segments of a buffer: either an even split of `total`, or explicit counts laid out
// back to back (the `v` collectives).
class Segments {
 public:
  static constexpr Segments even(std::size_t total, int parts) { return Segments(total, parts); }
  static constexpr Segments from_counts(std::span<const std::size_t> counts) {
    return Segments(counts);
  }

  constexpr int parts() const { return parts_; }
  constexpr Range operator[](int part) const {
    if (counts_.empty()) return even_part(total_, parts_, part);
    std::size_t offset = 0;
    for (int i = 0; i < part; ++i) offset += counts_[static_cast<std::size_t>(i)];
    return {offset, counts_[static_cast<std::size_t>(part)]};
  }
  constexpr std::size_t largest() const {
    if (counts_.empty()) return even_part(total_, parts_, 0).count;
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
  std::span<const std::size_t> counts_;
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
constexpr Range chunk_of(Range range, std::size_t chunks, std::size_t c) {
  const Range piece = even_part(range.count, static_cast<int>(chunks), static_cast<int>(c));
  return {range.offset + piece.offset, piece.count};
}

}  // namespace colt::schedule
