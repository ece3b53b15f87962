#pragma once
// broadcast: the root's buffer to every rank. Algorithms: tree (binomial, chunk-pipelined),
// direct (the root sends to each rank).

#include <span>

#include "colt/algorithms/direct.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/algorithms/tree.hpp"
#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/core/communicator.hpp"

namespace colt {

template <Transport X, OutputBuffer Data>
void broadcast(Communicator<X>& comm, Data&& data, int root, Algorithm algorithm = Algorithm::automatic) {
  auto d = detail::output_span(data);
  const detail::ArgsCheck check(comm, describe_call<element_t<Data>>(CollectiveKind::broadcast, d.size(), root, algorithm));
  check.root(root);
  check.algorithm(algorithm);
  check.agreed();
  detail::run_call(comm, CollectiveKind::broadcast, [&](auto& call) {
    if (d.empty() || call.size() == 1) return;
    const Plan plan = colt::plan(CollectiveKind::broadcast, d.size_bytes(), call.size(),
                                 std::remove_reference_t<decltype(call)>::has_views, algorithm);
    if (plan.algorithm == Algorithm::tree)
      return algorithms::tree::broadcast(call, d, root, plan.chunk_bytes);
    algorithms::direct::broadcast(call, d, root);
  });
}

}  // namespace colt
