#pragma once
// all_gather: every rank ends with every rank's buffer, laid out in rank order. all_gather_v
// takes per-rank counts. Algorithms: ring, direct, slots (in-process).

#include <algorithm>
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

namespace colt {

namespace detail {
// `out` holds every segment; this rank's `in` is copied into its segment unless already there.
template <class Comm, class T, class Memory = HostMemory>
void all_gather(Comm& comm, std::span<const T> in, std::span<T> out,
                const schedule::Segments& segments, Algorithm algorithm, Memory memory = {}) {
  run_call(comm, CollectiveKind::all_gather, std::move(memory), [&](auto& call) {
    const partition::Range mine = segments[call.rank()];
    call.memory().copy(out.data() + mine.begin, in.data(), in.size());
    call.memory().wait();
    if (call.size() == 1 || segments.largest() == 0) return;
    const Plan plan = plan_call(call, out.size_bytes(), algorithm);
    algorithms::records::AllGather::run(plan.algorithm, call, out, segments, plan.chunk_bytes,
                                        plan.levels);
  });
}

// The forms' checks, then the call (shared by host and device front doors).
template <class Comm, class T, class Memory = HostMemory>
void all_gather_even(Comm& comm, std::span<const T> i, std::span<T> o, Algorithm algorithm,
                     Memory memory = {}) {
  ArgsCheck check(comm, describe_call<T>(CollectiveKind::all_gather, i.size(), no_root, algorithm));
  check.equal("output", o.size(), "input size x ranks",
              check.template times_ranks<T>("input", i.size()));
  const auto segments = schedule::Segments::even(o.size(), comm.size());
  const auto mine = segments[comm.rank()];
  if (i.data() != o.data() + mine.begin) check.no_partial_overlap(i, std::span<const T>(o));
  check.algorithm(algorithm);
  check.agreed();
  all_gather(comm, i, o, segments, algorithm, std::move(memory));
}

template <class Comm, class T, class Memory = HostMemory>
void all_gather_in_place(Comm& comm, std::span<T> d, Algorithm algorithm, Memory memory = {}) {
  ArgsCheck check(
      comm, describe_call<T>(CollectiveKind::all_gather,
                             d.size() / static_cast<std::size_t>(comm.size()), no_root, algorithm));
  check.divisible("data", d.size());
  check.algorithm(algorithm);
  check.agreed();
  const auto segments = schedule::Segments::even(d.size(), comm.size());
  const auto mine = segments[comm.rank()];
  all_gather(comm, std::span<const T>(d.subspan(mine.begin, mine.size())), d, segments, algorithm,
             std::move(memory));
}

template <class Comm, class T, class Memory = HostMemory>
void all_gather_counts(Comm& comm, std::span<const T> i, std::span<T> o,
                       std::span<const std::size_t> counts, Algorithm algorithm,
                       Memory memory = {}) {
  ArgsCheck check(comm, describe_call_v<T>(CollectiveKind::all_gather, counts, no_root, algorithm));
  const std::size_t total = check.template counts<T>(counts);
  check.equal("input", i.size(), "this rank's count",
              counts[static_cast<std::size_t>(comm.rank())]);
  check.at_least("output", o.size(), "the sum of counts", total);
  const auto segments = schedule::Segments::from_counts(counts);
  const auto mine = segments[comm.rank()];
  if (i.data() != o.data() + mine.begin) check.no_partial_overlap(i, std::span<const T>(o));
  check.algorithm(algorithm);
  check.agreed();
  all_gather(comm, i, o.first(total), segments, algorithm, std::move(memory));
}
}  // namespace detail

// out (in.size() x size() elements) = every rank's `in`, in rank order.
template <Transport X, InputBuffer In, OutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
void all_gather(Communicator<X>& comm, In&& in, Out&& out,
                Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::all_gather, [&] {
    detail::all_gather_even(comm, detail::input_span(in), detail::output_span(out), algorithm);
  });
}

// In place: segment rank() of `data` is this rank's contribution; the others are filled in.
template <Transport X, OutputBuffer Data>
void all_gather(Communicator<X>& comm, Data&& data, Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::all_gather, [&] {
    detail::all_gather_in_place(comm, detail::output_span(data), algorithm);
  });
}

// out = every rank's `in` back to back, rank j contributing counts[j] elements.
template <Transport X, InputBuffer In, OutputBuffer Out, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>>
void all_gather_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts,
                  Algorithm algorithm = Algorithm::automatic) {
  detail::run_in_order(comm, CollectiveKind::all_gather, [&] {
    detail::all_gather_counts(comm, detail::input_span(in), detail::output_span(out),
                              detail::size_counts(counts), algorithm);
  });
}

// Started forms (core/request.hpp); `counts` is copied.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
Request iall_gather(Communicator<X>& comm, In&& in, Out&& out,
                    Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::all_gather,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out),
                        algorithm] { detail::all_gather_even(comm, i, o, algorithm); });
}

template <Transport X, LastingOutputBuffer Data>
Request iall_gather(Communicator<X>& comm, Data&& data,
                    Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::all_gather,
                       [&comm, d = detail::output_span(data), algorithm] {
                         detail::all_gather_in_place(comm, d, algorithm);
                       });
}

template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, CountRange Counts>
  requires std::same_as<element_t<In>, element_t<Out>>
Request iall_gather_v(Communicator<X>& comm, In&& in, Out&& out, const Counts& counts,
                      Algorithm algorithm = Algorithm::automatic) {
  return detail::start(comm, CollectiveKind::all_gather,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out),
                        c = detail::copy_counts(counts), algorithm] {
                         detail::all_gather_counts(comm, i, o, std::span<const std::size_t>(c),
                                                   algorithm);
                       });
}

}  // namespace colt
