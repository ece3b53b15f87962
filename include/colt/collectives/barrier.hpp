#pragma once
// barrier: no rank leaves before every rank has entered. Dissemination: in round k each rank
// signals rank + 2^k and waits for rank - 2^k, so after ceil(log2 p) rounds every rank has
// heard, directly or transitively, from every other.

#include <span>

#include "colt/collectives/detail/check_args.hpp"
#include "colt/core/call_descriptor.hpp"
#include "colt/core/communicator.hpp"

namespace colt {

template <Transport X>
void barrier(Communicator<X>& comm) {
  detail::ArgsCheck(comm, describe_call<void>(CollectiveKind::barrier, 0)).agreed();
  detail::run_call(comm, CollectiveKind::barrier, [&](auto& call) {
    const int p = call.size(), r = call.rank();
    for (int distance = 1; distance < p; distance <<= 1) {
      auto signal = call.isend((r + distance) % p, std::span<const std::byte>{});
      call.recv((r - distance + p) % p, std::span<std::byte>{});
      signal.wait(call.deadline());
    }
  });
}

}  // namespace colt
