#pragma once
// The one seam between colt and the outside world. A transport is anything with a rank, a size
// and non-blocking tagged send/receive whose requests can be waited on with a deadline. All
// else is optional and detected: zero-copy receive (`irecv_view`), sub-groups (`split`).
//
// Ordering contract (what every algorithm relies on): messages between one pair of ranks with
// the same tag are matched in the order they were posted (MPI's non-overtaking rule).

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "colt/core/deadline.hpp"
#include "colt/core/tag.hpp"

namespace colt {

// A pending send or receive. `wait` blocks until completion or throws colt::Error (deadline
// passed, peer failed, message larger than the buffer) and returns the bytes transferred;
// `test` polls. Requests are movable; destroying a pending one cancels it.
template <class R>
concept RequestLike = std::movable<R> && requires(R& r, const Deadline& deadline) {
  { r.wait(deadline) } -> std::same_as<std::size_t>;
  { r.test() } -> std::convertible_to<bool>;
};

template <class T>
concept Transport = std::movable<T> && requires(T& t, int peer, std::span<const std::byte> out,
                                                std::span<std::byte> in, Tag tag) {
  { t.rank() } -> std::convertible_to<int>;
  { t.size() } -> std::convertible_to<int>;
  { t.isend(peer, out, tag) } -> RequestLike;
  { t.irecv(peer, in, tag) } -> RequestLike;
};

// Zero-copy receive: `wait` yields the sender's own bytes, readable until `release()` (or the
// request's destruction), which is when the sender's request completes. Lets a receiver reduce
// or copy straight out of the sender's memory: one memory pass instead of two.
template <class R>
concept ViewRequestLike = std::movable<R> && requires(R& r, const Deadline& deadline) {
  { r.wait(deadline) } -> std::same_as<std::span<const std::byte>>;
  r.release();
};

template <class T>
concept ViewTransport = Transport<T> && requires(T& t, int peer, Tag tag) {
  { t.irecv_view(peer, tag) } -> ViewRequestLike;
};

// Sub-groups: ranks with equal `color` form a new transport, ordered by (key, old rank).
template <class T>
concept SplittableTransport =
    Transport<T> && requires(T& t, int color, int key, Tag tag, const Deadline& deadline) {
      { t.split(color, key, tag, deadline) } -> std::same_as<T>;
    };

// A transport that is told when a collective on it failed (its messages may now be out of step:
// a peer's send with no matching receive). MPI uses it to keep such a communicator's context
// from being reused, where a late message could reach a later communicator.
template <class T>
concept FailureAwareTransport = Transport<T> && requires(T& t) {
  { t.note_failure() } noexcept;
};

// A transport whose whole group can be told to give up: every pending and later wait of every
// member ends in a colt::Error naming `cause`. In-process groups can; MPI cannot (MPI_Abort ends
// the job), so code holding work in flight on an MPI transport waits for its deadline instead.
template <class T>
concept AbortableTransport = Transport<T> && requires(T& t, const std::string& cause) {
  { t.abort(cause) } noexcept;
};

// A transport that is told which numbered call (a tag of kind and sequence) its rank begins, once
// per call, before any of the call's traffic: its waits can then tell a peer that is in another
// collective, or went past this call, from a slow one (core/detail/left_call.hpp).
template <class T>
concept CallTrackingTransport = Transport<T> && requires(T& t, Tag call) {
  { t.enter_call(call) } noexcept;
};

// How the ranks of a round of shared slots wait: in a gathering round every rank waits until all
// have written; in a rooted one only a reader waits, and only for the slots it reads.
enum class SlotRoundKind { gathering, rooted };

// Shared slots (in-process): every rank writes a small slot that every other rank reads, one
// hand-off among all ranks per round instead of a message per pair (algorithms/slots.hpp).
// `slot_capacity()` is the bytes a round carries per rank; `begin_slot_round(kind, deadline)`
// gives the next round, with mine(bytes), publish(bytes), wait() (gathering), wait_for(rank)
// (rooted) and of(rank).
template <class T>
concept SlotTransport = Transport<T> && requires(T& t, const Deadline& deadline) {
  { T::slot_capacity() } -> std::convertible_to<std::size_t>;
  t.begin_slot_round(SlotRoundKind::gathering, deadline);
};

// A transport whose survivors can go on without the ranks that failed:
//  - `recovery_channel()`: point-to-point messages among the same ranks (isend, irecv, rank,
//    size) that an abort does not end, and whose sends complete without a receiver; the
//    survivors agree on who failed over it (core/detail/failure_agreement.hpp);
//  - `successor_proposal()`: what this rank proposes for the new transport (UCX: an unused
//    context id); the survivors take the largest;
//  - `without(failed, proposal)`: the transport of every rank but `failed` (ascending ranks),
//    renumbered in the old order, made without messages from what the survivors agreed.
template <class T>
concept ShrinkableTransport =
    Transport<T> && requires(T& t, std::span<const int> failed, std::uint32_t proposal) {
      t.recovery_channel();
      { t.successor_proposal() } -> std::convertible_to<std::uint32_t>;
      { t.without(failed, proposal) } -> std::same_as<T>;
    };

}  // namespace colt
