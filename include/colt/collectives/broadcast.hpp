#pragma once
// broadcast: the root's buffer to every rank. Algorithms: tree (binomial, chunk-pipelined),
// direct (the root sends to each rank), slots (in-process: the others copy the root's slot).

#include <span>

#include "colt/algorithms/records.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/communicator.hpp"

namespace colt {

namespace detail {
template <class Comm, class T, class Memory = HostMemory>
void broadcast(Comm& comm, std::span<T> d, int root, Algorithm algorithm, Memory memory = {}) {
  ArgsCheck check(comm, describe_call<T>(CollectiveKind::broadcast, d.size(), root, algorithm));
  check.root(root);
  check.algorithm(algorithm);
  check.agreed();
  run_call(comm, CollectiveKind::broadcast, std::move(memory), [&](auto& call) {
    if (d.empty() || call.size() == 1) return;
    const Plan plan = plan_call(call, d.size_bytes(), algorithm);
    algorithms::records::Broadcast::run(plan.algorithm, call, d, root, plan.chunk_bytes,
                                        plan.levels);
  });
}
}  // namespace detail

// Every rank's `data` = the root's.
template <Transport X, OutputBuffer Data>
void broadcast(Communicator<X>& comm, Data&& data, int root,
               Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::broadcast, [&] {
    detail::broadcast(comm, detail::output_span(data), root, algorithm);
  });
}

// Started form (core/request.hpp).
template <Transport X, LastingOutputBuffer Data>
Request ibroadcast(Communicator<X>& comm, Data&& data, int root,
                   Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::broadcast,
                       [&comm, d = detail::output_span(data), root, algorithm] {
                         detail::broadcast(comm, d, root, algorithm);
                       });
}

}  // namespace colt
