#pragma once
// scatter: the root's buffer cut into per-rank segments, segment j to rank j. scatter_v takes
// per-rank counts. Algorithm: direct (the root sends each segment).

#include <cstddef>
#include <span>
#include <vector>

#include "colt/algorithms/direct.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/collectives/detail/counts.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/communicator.hpp"

namespace colt {

namespace detail {
template <class Comm, class T, class Memory = HostMemory>
void scatter(Comm& comm, std::span<const T> in, std::span<T> out,
             const schedule::Segments& segments, int root, Memory memory = {}) {
  run_call(comm, CollectiveKind::scatter, std::move(memory), [&](auto& call) {
    if (segments.largest() == 0) return;
    algorithms::direct::scatter(call, in, out, segments, root);
  });
}

// The forms' checks, then the call (shared by host and device front doors).
template <class Comm, class T, class Memory = HostMemory>
void scatter_even(Comm& comm, std::span<const T> i, std::span<T> o, int root, Algorithm algorithm,
                  Memory memory = {}) {
  ArgsCheck check(comm, describe_call<T>(CollectiveKind::scatter, o.size(), root, algorithm));
  check.root(root);
  check.algorithm(algorithm);
  const std::size_t total = check.template times_ranks<T>("output", o.size());
  if (comm.rank() == root) check.equal("input", i.size(), "output size x ranks", total);
  check.agreed();
  scatter(comm, i, o, schedule::Segments::even(total, comm.size()), root, std::move(memory));
}

template <class Comm, class T, class Memory = HostMemory>
void scatter_counts(Comm& comm, std::span<const T> i, std::span<T> o,
                    std::span<const std::size_t> counts, int root, Algorithm algorithm,
                    Memory memory = {}) {
  ArgsCheck check(comm, describe_call_v<T>(CollectiveKind::scatter, counts, root, algorithm));
  check.root(root);
  check.algorithm(algorithm);
  const std::size_t total = check.template counts<T>(counts);
  if (comm.rank() == root) check.at_least("input", i.size(), "the sum of counts", total);
  check.at_least("output", o.size(), "this rank's count",
                 counts[static_cast<std::size_t>(comm.rank())]);
  check.agreed();
  scatter(comm, i, o, schedule::Segments::from_counts(counts), root, std::move(memory));
}
}  // namespace detail

// out (on every rank) = segment rank() of the root's `in` (out.size() x size() elements; `in`
// is read on the root only).
template <Transport X, InputBuffer In, OutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
void scatter(Communicator<X>& comm, In&& in, Out&& out, int root,
             Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::scatter, [&] {
    detail::scatter_even(comm, detail::input_span(in), detail::output_span(out), root, algorithm);
  });
}

// Segment j has counts[j] elements, back to back in the root's `in`.
template <Transport X, InputBuffer In, OutputBuffer Out, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>>
void scatter_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts, int root,
               Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::scatter, [&] {
    detail::scatter_counts(comm, detail::input_span(in), detail::output_span(out),
                           detail::size_counts(counts), root, algorithm);
  });
}

// Started forms (core/request.hpp); `counts` is copied.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
Request iscatter(Communicator<X>& comm, In&& in, Out&& out, int root,
                 Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::scatter,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out), root,
                        algorithm] { detail::scatter_even(comm, i, o, root, algorithm); });
}

template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>>
Request iscatter_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts, int root,
                   Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::scatter,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out),
                        c = detail::copy_counts(counts), root, algorithm] {
                         detail::scatter_counts(comm, i, o, std::span<const std::size_t>(c), root,
                                                algorithm);
                       });
}

}  // namespace colt
