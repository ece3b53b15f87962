#pragma once
// barrier: no rank leaves before every rank has entered. Over messages, dissemination
// (algorithms/dissemination.hpp: ceil(log2 p) rounds); on a transport with shared slots
// (in-process), one round of them: every rank counts in, and leaves once all have. plan()
// chooses, as for every collective, so COLT_ALGO=dissemination forces the first.

#include "colt/algorithms/records.hpp"
#include "colt/algorithms/select.hpp"
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
    if (call.size() == 1) return;
    const Plan plan = plan_call(call, 0, Algorithm::automatic);
    algorithms::records::Barrier::run(plan.algorithm, call);
  });
}
}  // namespace detail

// Returns once every rank has entered the barrier.
template <Transport X>
void barrier(Communicator<X>& comm) {
  detail::run_in_order(comm, CollectiveKind::barrier, [&] { detail::barrier(comm); });
}

// Started form (core/request.hpp): finished once every rank has started its barrier.
template <Transport X>
Request ibarrier(Communicator<X>& comm) {
  return detail::start(comm, CollectiveKind::barrier, [&comm] { detail::barrier(comm); });
}

}  // namespace colt
