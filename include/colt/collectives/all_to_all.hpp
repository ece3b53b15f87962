#pragma once
// all_to_all: segment j of every rank's input goes to rank j, which lays the segments it receives
// out in rank order (mixture-of-experts dispatch and combine, sequence parallelism's
// re-sharding). The even form cuts `in` and `out` into size() equal segments; all_to_all_v takes
// per-peer send and receive counts, segments back to back. Algorithm: direct (pairwise).
//
// A receive count that differs from the matching peer's send count is a colt::Error (mismatch),
// never a hang: without COLT_CHECK on the first message of the wrong size, with COLT_CHECK on
// every rank before any data moves, naming both ranks and both counts.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "colt/algorithms/direct.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/collectives/detail/buffers.hpp"
#include "colt/collectives/detail/check_args.hpp"
#include "colt/collectives/detail/counts.hpp"
#include "colt/collectives/detail/start.hpp"
#include "colt/core/communicator.hpp"

namespace colt {

namespace detail {
template <class Comm, class T>
void all_to_all(Comm& comm, std::span<const T> in, const schedule::Segments& sends,
                std::span<T> out, const schedule::Segments& receives) {
  // No early return when this rank's counts are all zero: the others still expect its (empty)
  // messages, and whether they do is theirs to know, not this rank's.
  run_call(comm, CollectiveKind::all_to_all,
           [&](auto& call) { algorithms::direct::all_to_all(call, in, sends, out, receives); });
}

// Under argument checking, after the ranks agreed on the call (agree_on_call): every rank
// learns every rank's send and receive counts, through the same exchange on the check's next
// sub-step, so all of them find the same first pair that disagrees (rank i expects from j what
// j does not send it) and fail together, before any data moves.
template <class Comm>
void agree_on_counts(Comm& comm, std::span<const std::size_t> send_counts,
                     std::span<const std::size_t> receive_counts) {
  if (!comm.checking()) return;
  const auto p = static_cast<std::size_t>(comm.size()), me = static_cast<std::size_t>(comm.rank());
  std::vector<std::uint64_t> all(2 * p * p);
  for (std::size_t j = 0; j < p; ++j) {
    all[me * 2 * p + j] = send_counts[j];
    all[me * 2 * p + p + j] = receive_counts[j];
  }
  exchange_arguments(comm, Operation::all_to_all, std::span(all), 2 * p, 1, [] {});
  for (std::size_t i = 0; i < p; ++i)
    for (std::size_t j = 0; j < p; ++j) {
      const std::uint64_t expects = all[i * 2 * p + p + j], sends = all[j * 2 * p + i];
      if (expects != sends)
        throw Error(ErrorKind::mismatch, Operation::all_to_all, Error::Rank{comm.rank()},
                    Error::Peer{static_cast<int>(j)},
                    "rank " + std::to_string(i) + " expects " + std::to_string(expects) +
                        " elements from rank " + std::to_string(j) + ", which sends it " +
                        std::to_string(sends) + " (COLT_CHECK)");
    }
}

template <class Comm, class T>
void all_to_all_even(Comm& comm, std::span<const T> i, std::span<T> o) {
  const auto p = static_cast<std::size_t>(comm.size());
  ArgsCheck check(comm, describe_call<T>(CollectiveKind::all_to_all, i.size() / p));
  check.equal("output", o.size(), "the input's size", i.size());
  check.divisible("input", i.size());
  check.disjoint(i, std::span<const T>(o));
  check.agreed();
  const auto segments = schedule::Segments::even(i.size(), comm.size());
  all_to_all(comm, i, segments, o, segments);
}

template <class Comm, class T>
void all_to_all_counts(Comm& comm, std::span<const T> i, std::span<const std::size_t> send_counts,
                       std::span<T> o, std::span<const std::size_t> receive_counts) {
  // The counts differ from rank to rank by design: the descriptor compares the rest of the call,
  // agree_on_counts the counts.
  CallDescriptor call = describe_call<T>(CollectiveKind::all_to_all, 0);
  call.v_form = true;
  ArgsCheck check(comm, call);
  const std::size_t sent = check.template counts<T>(send_counts);
  const std::size_t received = check.template counts<T>(receive_counts);
  check.equal("input", i.size(), "the sum of send counts", sent);
  check.at_least("output", o.size(), "the sum of receive counts", received);
  const auto me = static_cast<std::size_t>(comm.rank());
  check.equal("this rank's receive count from itself", receive_counts[me],
              "its send count to itself", send_counts[me]);
  check.disjoint(i, std::span<const T>(o));
  check.agreed();
  agree_on_counts(comm, send_counts, receive_counts);
  all_to_all(comm, i, schedule::Segments::from_counts(send_counts), o,
             schedule::Segments::from_counts(receive_counts));
}
}  // namespace detail

// Segment j of `in` (in.size() / size() elements) goes to rank j; segment j of `out` comes from
// rank j. `in` and `out` have the same size and do not overlap.
template <Transport X, InputBuffer In, OutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
void all_to_all(Communicator<X>& comm, In&& in, Out&& out) {
  detail::run_in_order(comm, CollectiveKind::all_to_all, [&] {
    detail::all_to_all_even(comm, detail::input_span(in), detail::output_span(out));
  });
}

// send_counts[j] elements of `in` go to rank j, back to back; receive_counts[j] elements from
// rank j land back to back in `out`. receive_counts[j] on this rank must equal send_counts[rank]
// on rank j.
template <Transport X, InputBuffer In, OutputBuffer Out, CountRange SendCounts,
          CountRange ReceiveCounts>
  requires std::same_as<element_t<In>, element_t<Out>>
void all_to_all_v(Communicator<X>& comm, In&& in, const SendCounts& send_counts, Out&& out,
                  const ReceiveCounts& receive_counts) {
  detail::run_in_order(comm, CollectiveKind::all_to_all, [&] {
    detail::all_to_all_counts(comm, detail::input_span(in), detail::size_counts(send_counts),
                              detail::output_span(out), detail::size_counts(receive_counts));
  });
}

// Started forms (core/request.hpp); the counts are copied.
template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out>
  requires std::same_as<element_t<In>, element_t<Out>>
Request iall_to_all(Communicator<X>& comm, In&& in, Out&& out) {
  return detail::start(comm, CollectiveKind::all_to_all,
                       [&comm, i = detail::input_span(in), o = detail::output_span(out)] {
                         detail::all_to_all_even(comm, i, o);
                       });
}

template <Transport X, LastingInputBuffer In, LastingOutputBuffer Out, CountRange SendCounts,
          CountRange ReceiveCounts>
  requires std::same_as<element_t<In>, element_t<Out>>
Request iall_to_all_v(Communicator<X>& comm, In&& in, const SendCounts& send_counts, Out&& out,
                      const ReceiveCounts& receive_counts) {
  return detail::start(
      comm, CollectiveKind::all_to_all,
      [&comm, i = detail::input_span(in), o = detail::output_span(out),
       s = detail::copy_counts(send_counts), r = detail::copy_counts(receive_counts)] {
        detail::all_to_all_counts(comm, i, std::span<const std::size_t>(s), o,
                                  std::span<const std::size_t>(r));
      });
}

}  // namespace colt
