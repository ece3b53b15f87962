#pragma once
// barrier: no rank leaves before every rank has entered. Dissemination: in round k each rank
// signals rank + 2^k and waits for rank - 2^k, so after ceil(log2 p) rounds every rank has
// heard, directly or transitively, from every other. On a transport with shared slots
// (in-process), one round of them: every rank counts in, and leaves once all have.

#include <span>

#include "colt/algorithms/slots.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/call_descriptor.hpp"
#include "colt/core/communicator.hpp"

namespace colt {

namespace detail {
template <class Comm>
void barrier(Comm& comm) {
  detail::ArgsCheck(comm, describe_call<void>(CollectiveKind::barrier, 0)).agreed();
  detail::run_call(comm, CollectiveKind::barrier, [&](auto& call) {
    if constexpr (SlotTransport<typename Comm::transport_type>)
      if (call.size() > 1) return algorithms::slots::barrier(call);
    const int p = call.size(), r = call.rank();
    for (int distance = 1; distance < p; distance <<= 1) {
      auto signal = call.isend((r + distance) % p, std::span<const std::byte>{});
      call.recv((r - distance + p) % p, std::span<std::byte>{});
      signal.wait(call.deadline());
    }
  });
}
}  // namespace detail

// Returns once every rank has entered the barrier.
template <Transport X>
void barrier(Communicator<X>& comm) {
  detail::run_in_order(comm, [&] { detail::barrier(comm); });
}

// Started form (core/request.hpp): finished once every rank has started its barrier.
template <Transport X>
Request ibarrier(Communicator<X>& comm) {
  return detail::start(comm, [&comm] { detail::barrier(comm); });
}

}  // namespace colt
