#pragma once
// all_reduce: every rank ends with the reduction (op) of every rank's buffer, bitwise identical
// on all ranks. Algorithms: ring (bandwidth), tree (latency), direct (zero-copy, in-process),
// slots (tiny, in-process), hierarchical and node_leaders (two levels: within nodes, across
// them); colt::ordered (or the communicator's ordered option) folds in rank order, reproducibly.

#include <span>

#include "colt/algorithms/records.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/ops.hpp"
#include "colt/reduce/host.hpp"

namespace colt {

namespace detail {
template <class Comm, class T, class Op, class Memory = HostMemory>
void all_reduce(Comm& comm, std::span<const T> in, std::span<T> out, Op op, Algorithm algorithm,
                Memory memory = {}) {
  ArgsCheck check(comm,
                  describe_call<T, Op>(CollectiveKind::all_reduce, in.size(), no_root, algorithm));
  check.equal("output", out.size(), "the input's size", in.size());
  check.no_partial_overlap(in, std::span<const T>(out));
  check.algorithm(algorithm);
  check.agreed();
  run_call(comm, CollectiveKind::all_reduce, std::move(memory), [&](auto& call) {
    const int p = call.size();
    if (in.empty()) return;
    if (p == 1) {
      finish_copy_in(call.memory(), op, out.data(), in.data(), in.size(), 1);
      return call.memory().wait();
    }
    const Plan plan = plan_call(call, in.size_bytes(), algorithm);
    algorithms::records::AllReduce::run(plan.algorithm, call, in, out, op, plan.chunk_bytes,
                                        plan.levels);
  });
}
}  // namespace detail

// out = op-reduction of `in` over all ranks.
template <Transport X, InputBuffer In, OutputBuffer Out, class Op>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
void all_reduce(Communicator<X>& comm, In&& in, Out&& out, Op op,
                Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::all_reduce, [&] {
    detail::all_reduce(comm, detail::input_span(in), detail::output_span(out), op, algorithm);
  });
}

// In place: `data` is replaced by the reduction over all ranks.
template <Transport X, OutputBuffer Data, class Op>
  requires ReductionFor<Op, element_t<Data>>
void all_reduce(Communicator<X>& comm, Data&& data, Op op,
                Algorithm algorithm = Algorithm::automatic) {
  auto d = detail::output_span(data);
  detail::run_in_order(comm, CollectiveKind::all_reduce, [&] {
    detail::all_reduce(comm, std::span<const element_t<Data>>(d), d, op, algorithm);
  });
}

// Started forms (core/request.hpp): the same arguments; the buffers are the call's until the
// request is finished.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, class Op>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
Request iall_reduce(Communicator<X>& comm, In&& in, Out&& out, Op op,
                    Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::all_reduce,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out), op,
                        algorithm] { detail::all_reduce(comm, i, o, op, algorithm); });
}

template <Transport X, LastingOutputBuffer Data, class Op>
  requires ReductionFor<Op, element_t<Data>>
Request iall_reduce(Communicator<X>& comm, Data&& data, Op op,
                    Algorithm algorithm = Algorithm::automatic) {
  return detail::start(
      comm, CollectiveKind::all_reduce, [&comm, d = detail::output_span(data), op, algorithm] {
        detail::all_reduce(comm, std::span<const element_t<Data>>(d), d, op, algorithm);
      });
}

}  // namespace colt
