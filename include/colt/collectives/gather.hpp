#pragma once
// gather: every rank's buffer lands, in rank order, in the root's output. gather_v takes
// per-rank counts. Algorithm: direct (the root receives from each rank).

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
void gather(Comm& comm, std::span<const T> in, std::span<T> out, const schedule::Segments& segments,
            int root, Memory memory = {}) {
  run_call(comm, CollectiveKind::gather, std::move(memory), [&](auto& call) {
    if (segments.largest() == 0) return;
    algorithms::direct::gather(call, in, out, segments, root);
  });
}

// The forms' checks, then the call (shared by host and device front doors).
template <class Comm, class T, class Memory = HostMemory>
void gather_even(Comm& comm, std::span<const T> i, std::span<T> o, int root, Algorithm algorithm,
                 Memory memory = {}) {
  ArgsCheck check(comm, describe_call<T>(CollectiveKind::gather, i.size(), root, algorithm));
  check.root(root);
  check.algorithm(algorithm);
  const std::size_t total = check.template times_ranks<T>("input", i.size());
  if (comm.rank() == root) check.equal("output", o.size(), "input size x ranks", total);
  check.agreed();
  gather(comm, i, o, schedule::Segments::even(total, comm.size()), root, std::move(memory));
}

template <class Comm, class T, class Memory = HostMemory>
void gather_counts(Comm& comm, std::span<const T> i, std::span<T> o,
                   std::span<const std::size_t> counts, int root, Algorithm algorithm,
                   Memory memory = {}) {
  ArgsCheck check(comm, describe_call_v<T>(CollectiveKind::gather, counts, root, algorithm));
  check.root(root);
  check.algorithm(algorithm);
  const std::size_t total = check.template counts<T>(counts);
  check.equal("input", i.size(), "this rank's count",
              counts[static_cast<std::size_t>(comm.rank())]);
  if (comm.rank() == root) check.at_least("output", o.size(), "the sum of counts", total);
  check.agreed();
  gather(comm, i, o, schedule::Segments::from_counts(counts), root, std::move(memory));
}
}  // namespace detail

// The root's `out` (in.size() x size() elements) = every rank's `in` in rank order; `out` is
// not touched elsewhere.
template <Transport X, InputBuffer In, OutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
void gather(Communicator<X>& comm, In&& in, Out&& out, int root,
            Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::gather, [&] {
    detail::gather_even(comm, detail::input_span(in), detail::output_span(out), root, algorithm);
  });
}

// Rank j contributes counts[j] elements; they lie back to back in the root's `out`.
template <Transport X, InputBuffer In, OutputBuffer Out, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>>
void gather_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts, int root,
              Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::gather, [&] {
    detail::gather_counts(comm, detail::input_span(in), detail::output_span(out),
                          detail::size_counts(counts), root, algorithm);
  });
}

// Started forms (core/request.hpp); `counts` is copied.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
Request igather(Communicator<X>& comm, In&& in, Out&& out, int root,
                Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::gather,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out), root,
                        algorithm] { detail::gather_even(comm, i, o, root, algorithm); });
}

template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>>
Request igather_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts, int root,
                  Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::gather,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out),
                        c = detail::copy_counts(counts), root, algorithm] {
                         detail::gather_counts(comm, i, o, std::span<const std::size_t>(c), root,
                                               algorithm);
                       });
}

}  // namespace colt
