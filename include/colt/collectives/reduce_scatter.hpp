#pragma once
// reduce_scatter: rank r ends with segment r of the reduction of every rank's buffer. The even
// form splits the input into size() equal segments; reduce_scatter_v takes per-rank counts.
// Algorithms: ring, direct, slots (in-process, up to a slot of input per round).

#include <cstddef>
#include <span>
#include <vector>

#include "colt/algorithms/schedule/segments.hpp"
#include "colt/algorithms/records.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/collectives/detail/counts.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/ops.hpp"
#include "colt/reduce/host.hpp"

namespace colt {

namespace detail {
// `in_place` is the writable input when the call is in place (partial sums may travel in it).
template <class Comm, class T, class Op, class Memory = HostMemory>
void reduce_scatter(Comm& comm, std::span<const T> in, std::span<T> out, std::span<T> in_place,
                    const schedule::Segments& segments, Op op, Algorithm algorithm,
                    Memory memory = {}) {
  run_call(comm, CollectiveKind::reduce_scatter, std::move(memory), [&](auto& call) {
    const int p = call.size();
    const std::size_t mine = segments[call.rank()].size();
    if (segments.largest() == 0) return;
    if (p == 1) {
      finish_copy_in(call.memory(), op, out.data(), in.data(), mine, 1);
      return call.memory().wait();
    }
    const Plan plan = plan_call(call, in.size_bytes(), algorithm);
    algorithms::records::ReduceScatter::run(plan.algorithm, call, in, out.first(mine), segments, op,
                                            plan.chunk_bytes, in_place, plan.levels);
  });
}

// The even form's checks, then the call (shared by host and device front doors).
template <class Comm, class T, class Op, class Memory = HostMemory>
void reduce_scatter_even(Comm& comm, std::span<const T> i, std::span<T> o, Op op,
                         Algorithm algorithm, Memory memory = {}) {
  ArgsCheck check(
      comm, describe_call<T, Op>(CollectiveKind::reduce_scatter, i.size(), no_root, algorithm));
  check.equal("input", i.size(), "output size x ranks",
              check.template times_ranks<T>("output", o.size()));
  check.no_partial_overlap(i, std::span<const T>(o));
  check.algorithm(algorithm);
  check.agreed();
  reduce_scatter(comm, i, o, {}, schedule::Segments::even(i.size(), comm.size()), op, algorithm,
                 std::move(memory));
}

template <class Comm, class T, class Op, class Memory = HostMemory>
void reduce_scatter_counts(Comm& comm, std::span<const T> i, std::span<T> o,
                           std::span<const std::size_t> counts, Op op, Algorithm algorithm,
                           Memory memory = {}) {
  ArgsCheck check(
      comm, describe_call_v<T, Op>(CollectiveKind::reduce_scatter, counts, no_root, algorithm));
  const std::size_t total = check.template counts<T>(counts);
  check.equal("input", i.size(), "the sum of counts", total);
  check.at_least("output", o.size(), "this rank's count",
                 counts[static_cast<std::size_t>(comm.rank())]);
  check.no_partial_overlap(i, std::span<const T>(o));
  check.algorithm(algorithm);
  check.agreed();
  reduce_scatter(comm, i, o, {}, schedule::Segments::from_counts(counts), op, algorithm,
                 std::move(memory));
}

// The in-place form's checks, then the call; returns this rank's segment of `d`.
template <class Comm, class T, class Op>
std::span<T> reduce_scatter_in_place(Comm& comm, std::span<T> d, Op op, Algorithm algorithm) {
  ArgsCheck check(
      comm, describe_call<T, Op>(CollectiveKind::reduce_scatter, d.size(), no_root, algorithm));
  check.divisible("data", d.size());
  check.algorithm(algorithm);
  check.agreed();
  const auto segments = schedule::Segments::even(d.size(), comm.size());
  const partition::Range mine = segments[comm.rank()];
  auto result = d.subspan(mine.begin, mine.size());
  reduce_scatter(comm, std::span<const T>(d), result, d, segments, op, algorithm);
  return result;
}
}  // namespace detail

// out (in.size() / size() elements) = segment rank() of the reduction of `in` over all ranks.
template <Transport X, InputBuffer In, OutputBuffer Out, class Op>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
void reduce_scatter(Communicator<X>& comm, In&& in, Out&& out, Op op,
                    Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::reduce_scatter, [&] {
    detail::reduce_scatter_even(comm, detail::input_span(in), detail::output_span(out), op,
                                algorithm);
  });
}

// In place: the result is left in segment rank() of `data` (returned); the other segments
// hold unspecified partial results afterwards.
template <Transport X, OutputBuffer Data, class Op>
  requires ReductionFor<Op, element_t<Data>>
std::span<element_t<Data>> reduce_scatter(Communicator<X>& comm, Data&& data, Op op,
                                          Algorithm algorithm = Algorithm::automatic) {
  auto d = detail::output_span(data);
  std::span<element_t<Data>> result;
  detail::run_in_order(comm, CollectiveKind::reduce_scatter,
                       [&] { result = detail::reduce_scatter_in_place(comm, d, op, algorithm); });
  return result;
}

// out = segment rank() of the reduction, where segment j has counts[j] elements and the
// segments lie back to back in `in` (sum(counts) elements).
template <Transport X, InputBuffer In, OutputBuffer Out, class Op, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
void reduce_scatter_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts, Op op,
                      Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::reduce_scatter, [&] {
    detail::reduce_scatter_counts(comm, detail::input_span(in), detail::output_span(out),
                                  detail::size_counts(counts), op, algorithm);
  });
}

// Started forms (core/request.hpp). In place, the result is segment rank() of `data`.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, class Op>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
Request ireduce_scatter(Communicator<X>& comm, In&& in, Out&& out, Op op,
                        Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::reduce_scatter,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out), op,
                        algorithm] { detail::reduce_scatter_even(comm, i, o, op, algorithm); });
}

template <Transport X, LastingOutputBuffer Data, class Op>
  requires ReductionFor<Op, element_t<Data>>
Request ireduce_scatter(Communicator<X>& comm, Data&& data, Op op,
                        Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::reduce_scatter,
                       [&comm, d = detail::output_span(data), op, algorithm] {
                         detail::reduce_scatter_in_place(comm, d, op, algorithm);
                       });
}

// `counts` is copied: it need not outlive the call.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, class Op, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>> && ReductionFor<Op, element_t<Out>>
Request ireduce_scatter_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts, Op op,
                          Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::reduce_scatter,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out),
                        c = detail::copy_counts(counts), op, algorithm] {
                         detail::reduce_scatter_counts(comm, i, o, std::span<const std::size_t>(c),
                                                       op, algorithm);
                       });
}

}  // namespace colt
