#pragma once
// Dissemination: barrier over messages. In round k each rank signals rank + 2^k and waits for
// rank - 2^k, so after ceil(log2 p) rounds every rank has heard, directly or transitively, from
// every other, and none leaves before all have entered.

#include <cstddef>
#include <span>

#include "colt/algorithms/primitives.hpp"

namespace colt::algorithms::dissemination {

template <class Call>
void barrier(Call& call) {
  const int p = call.size(), r = call.rank();
  for (int distance = 1; distance < p; distance <<= 1) {
    auto signal = call.isend((r + distance) % p, std::span<const std::byte>{});
    call.recv((r - distance + p) % p, std::span<std::byte>{});
    signal.wait(call.deadline());
  }
}

}  // namespace colt::algorithms::dissemination
