#pragma once
// What a transport's `split` reads from the records its exchange gathered (exchange.hpp): each
// rank's color and key, then words of the transport's own (UCX's context-id proposal). The other
// ranks' records arrived as bytes from peers; any bytes give a well-formed part (fuzzed by
// tests/fuzz/fuzz_split_part.cpp).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace colt::detail {

struct SplitPart {
  std::vector<int> members;  // ranks of this rank's color in the split group, by (key, rank)
  int rank = 0;              // this rank's place in `members`
};

// Record r is records[r * stride, r * stride + stride): color, key, then the transport's words.
// Requires stride >= 2, records.size() == stride * (size of the group), 0 <= rank < that size.
// This rank's own record, written locally, names the color it joins.
inline SplitPart split_part(std::span<const std::int64_t> records, std::size_t stride, int rank) {
  const std::size_t n = records.size() / stride;
  const std::int64_t color = records[static_cast<std::size_t>(rank) * stride];
  std::vector<std::pair<std::int64_t, int>> chosen;  // (key, rank) of this rank's color
  for (std::size_t r = 0; r < n; ++r)
    if (records[r * stride] == color)
      chosen.emplace_back(records[r * stride + 1], static_cast<int>(r));
  std::sort(chosen.begin(), chosen.end());
  SplitPart part;
  part.members.reserve(chosen.size());
  for (const auto& [key, r] : chosen) {
    if (r == rank) part.rank = static_cast<int>(part.members.size());
    part.members.push_back(r);
  }
  return part;
}

}  // namespace colt::detail
