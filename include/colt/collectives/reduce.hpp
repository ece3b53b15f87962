#pragma once
// reduce: the root ends with the reduction of every rank's buffer; other ranks' output is not
// touched (and may be empty). Algorithms: tree (binomial), direct (the root reduces all ranks'
// buffers in one pass), slots (in-process: the root folds every rank's slot).

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
void reduce(Comm& comm, std::span<const T> in, std::span<T> out, int root, Op op,
            Algorithm algorithm, Memory memory = {}) {
  ArgsCheck check(comm, describe_call<T, Op>(CollectiveKind::reduce, in.size(), root, algorithm));
  check.root(root);
  if (comm.rank() == root) {
    check.equal("output", out.size(), "the input's size", in.size());
    check.no_partial_overlap(in, std::span<const T>(out));
  }
  check.algorithm(algorithm);
  check.agreed();
  run_call(comm, CollectiveKind::reduce, std::move(memory), [&](auto& call) {
    const int p = call.size();
    if (in.empty()) return;
    if (p == 1) {
      finish_copy_in(call.memory(), op, out.data(), in.data(), in.size(), 1);
      return call.memory().wait();
    }
    const Plan plan = plan_call(call, in.size_bytes(), algorithm);
    algorithms::records::Reduce::run(plan.algorithm, call, in, out, root, op, plan.chunk_bytes,
                                     plan.levels);
  });
}
}  // namespace detail

// The root's `out` = op-reduction of `in` over all ranks.
template <Transport X, InputBuffer In, OutputBuffer Out, class Op>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
void reduce(Communicator<X>& comm, In&& in, Out&& out, int root, Op op,
            Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::reduce, [&] {
    detail::reduce(comm, detail::input_span(in), detail::output_span(out), root, op, algorithm);
  });
}

// In place: the root's `data` is replaced by the reduction; other ranks' `data` is only read.
template <Transport X, OutputBuffer Data, class Op>
  requires ReductionFor<Op, element_t<Data>>
void reduce(Communicator<X>& comm, Data&& data, int root, Op op,
            Algorithm algorithm = Algorithm::automatic) {
  auto d = detail::output_span(data);
  detail::run_in_order(comm, CollectiveKind::reduce, [&] {
    detail::reduce(comm, std::span<const element_t<Data>>(d), d, root, op, algorithm);
  });
}

// Started forms (core/request.hpp).
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, class Op>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
Request ireduce(Communicator<X>& comm, In&& in, Out&& out, int root, Op op,
                Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::reduce,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out), root, op,
                        algorithm] { detail::reduce(comm, i, o, root, op, algorithm); });
}

template <Transport X, LastingOutputBuffer Data, class Op>
  requires ReductionFor<Op, element_t<Data>>
Request ireduce(Communicator<X>& comm, Data&& data, int root, Op op,
                Algorithm algorithm = Algorithm::automatic) {
  return detail::start(
      comm, CollectiveKind::reduce, [&comm, d = detail::output_span(data), root, op, algorithm] {
        detail::reduce(comm, std::span<const element_t<Data>>(d), d, root, op, algorithm);
      });
}

}  // namespace colt
