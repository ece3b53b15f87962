#pragma once
// SlotRound: one round of the in-process transport's shared slots (inprocess_slots.hpp), as the
// slots algorithm (algorithms/slots.hpp) drives it through Transport::begin_slot_round.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <optional>
#include <string>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/transport/detail/futex.hpp"
#include "colt/transport/detail/inprocess_group.hpp"

namespace colt::inprocess::detail {

// One round on the group's shared slots (detail/inprocess_slots.hpp). Gathering: write
// mine(bytes), publish(bytes), wait(), then read of(peer) for any rank. Rooted: the writers write
// mine(bytes) and publish(bytes); a reader wait_for()s each rank it reads, then reads of(rank).
// Either way until this rank begins its next round, which must be the same round, of the same
// kind, on every rank.
class SlotRound {
 public:
  // Begins this rank's next round, whose waits end in an Error at `deadline`.
  SlotRound(Group& group, int rank, SlotRoundKind kind, const Deadline& deadline)
      : group_(group),
        slots_(group.slots()),
        me_(slots_.owner(rank)),
        deadline_(deadline),
        rank_(rank),
        kind_(kind),
        call_(group.call_of(rank).call) {
    // A writer of rooted rounds never waits, so it looks here: an aborted group (a peer found the
    // ranks' calls differ, say) ends its next round, not only its next wait.
    if (group.aborted())
      throw Error(ErrorKind::aborted, Operation::unnamed, Error::Rank{rank},
                  "aborted before a round of the shared slots: " + group.abort_cause());
    round_ = me_.begun.load(std::memory_order_relaxed) + 1;
    if (kind_ == SlotRoundKind::rooted) {
      // A writer may be waiting for this rank to begin (it read the last round's slots).
      me_.begun.store(round_, std::memory_order_seq_cst);
      notify_progress();
    } else {
      me_.begun.store(round_, std::memory_order_release);
      ++me_.gatherings;
    }
  }

  // Where this rank's part of `bytes` (at most slot_capacity) goes: a small slot or a large one.
  std::span<std::byte> mine(std::size_t bytes) {
    await_free(bytes);
    std::byte* data = fits_small(bytes) ? slots_.small_slot(rank_, round_).data
                                        : slots_.large_slot(rank_, round_).data;
    return {data, bytes};
  }

  // Makes mine(bytes) this rank's part of the round (`bytes` as given to mine(); a part of no
  // bytes needs no mine()). Gathering: counts it in, and the last rank in wakes the ranks asleep in
  // wait(). Rooted: wakes a sleeping reader, if any.
  void publish(std::size_t bytes) {
    await_free(bytes);
    Slots::Header& header = my_header(bytes);
    header.bytes = static_cast<std::uint32_t>(bytes);
    header.call = call_.value;
    if (kind_ == SlotRoundKind::rooted) {
      header.published.store(round_, std::memory_order_seq_cst);
      notify_progress();
      return;
    }
    header.published.store(round_, std::memory_order_release);
    // seq_cst here and in wait(): either this rank sees a sleeper, or the sleeper sees this count.
    const std::uint32_t in = slots_.arrivals.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (in == target() && slots_.sleepers.load(std::memory_order_seq_cst) != 0)
      colt::detail::futex_wake_all(slots_.arrivals);
  }

  // Gathering: until every rank has published this round.
  void wait() {
    await([this] { return complete(); }, slots_.arrivals, slots_.sleepers,
          [this] { return first_unpublished(0, static_cast<int>(slots_.ranks())); });
    for (int r = 0; r < static_cast<int>(slots_.ranks()); ++r)
      if (r != rank_) check_same_call(r);
    // Every rank has begun this round, so has finished the ones before.
    learn_finished(round_ - 1);
  }

  // Rooted: until `peer` has published this round.
  void wait_for(int peer) {
    await([this, peer] { return published(peer); }, slots_.progress, slots_.progress_sleepers,
          [this, peer] { return first_unpublished(peer, peer + 1); });
    check_same_call(peer);
    // The peer published once it knew every rank had finished the last round of the slot it
    // wrote, its ring's depth rounds ago.
    learn_finished(round_ - (small_published(peer) ? small_depth : large_depth));
  }

  // Rank `peer`'s part of this round (after wait(), or wait_for(peer)).
  std::span<const std::byte> of(int peer) {
    if (small_published(peer)) {
      const Slots::SmallSlot& small = slots_.small_slot(peer, round_);
      return {small.data, small.bytes};
    }
    const Slots::LargeSlot& slot = slots_.large_slot(peer, round_);
    return {slot.data, slot.bytes};
  }

 private:
  using Owner = Slots::Owner;

  static bool at_least(std::uint32_t value, std::uint32_t bound) {
    return static_cast<std::int32_t>(value - bound) >= 0;  // modulo 2^32
  }
  std::uint32_t target() const { return me_.gatherings * slots_.ranks(); }
  // Acquire: the count that completes the round is the last of a chain of read-modify-writes
  // that began with each rank's publish, so reading it makes every rank's slot visible.
  bool complete() const {
    return at_least(slots_.arrivals.load(std::memory_order_acquire), target());
  }
  static bool fits_small(std::size_t bytes) { return bytes <= small_capacity; }
  // The header of this rank's slot of this round for a part of `bytes`.
  Slots::Header& my_header(std::size_t bytes) {
    if (fits_small(bytes)) return slots_.small_slot(rank_, round_);
    return slots_.large_slot(rank_, round_);
  }
  // A rank writes its part of a round into its small slot or its large one, never both, and each
  // holds the round it was last written in: the one that holds this round has the part.
  bool small_published(int r) const {
    return slots_.small_slot(r, round_).published.load(std::memory_order_acquire) == round_;
  }
  bool published(int r) const {
    return small_published(r) ||
           slots_.large_slot(r, round_).published.load(std::memory_order_acquire) == round_;
  }
  // Throws unless rank r's part of this round was written by this very call. A rank in another
  // collective may reach the same round: its part is then another call's, never this call's data.
  void check_same_call(int r) const {
    const Slots::Header& header =
        small_published(r) ? static_cast<const Slots::Header&>(slots_.small_slot(r, round_))
                           : slots_.large_slot(r, round_);
    const bool this_round = header.published.load(std::memory_order_acquire) == round_;
    if (this_round && header.call == call_.value) return;
    throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{r},
                "rank " + std::to_string(r) + "'s shared slot holds " +
                    (this_round ? colt::detail::call_text(Tag{header.call}) : "another round") +
                    " where this rank is in " + colt::detail::call_text(call_) +
                    ": the ranks called different collectives");
  }
  int first_unpublished(int from, int to) const {
    for (int r = from; r < to; ++r)
      if (!published(r)) return r;
    return no_peer;
  }

  bool known_finished(std::uint32_t round) const { return at_least(me_.all_finished, round); }
  void learn_finished(std::uint32_t round) {
    if (!known_finished(round)) me_.all_finished = round;
  }
  // The first rank that has not begun `round`, or no_peer; learns what the others have finished.
  int first_not_begun(std::uint32_t round) {
    int missing = no_peer;
    std::uint32_t least = round_;
    for (int r = 0; r < static_cast<int>(slots_.ranks()); ++r) {
      const std::uint32_t begun = slots_.owner(r).begun.load(std::memory_order_acquire);
      if (!at_least(begun, round) && missing == no_peer) missing = r;
      if (!at_least(begun, least)) least = begun;
    }
    learn_finished(least - 1);
    return missing;
  }
  // Before this rank writes the slot that takes a part of `bytes` (or its size and round): until
  // every rank has finished the slot's last round, its ring's depth rounds ago, that is, has begun
  // the round after it. Known without asking after a gathering round; after rooted ones that this
  // rank did not wait out, read from the others' `begun`, and waited for only when a reader is that
  // far behind.
  void await_free(std::size_t bytes) {
    if (free_) return;
    // The round after the slot's last.
    const std::uint32_t after = round_ - (fits_small(bytes) ? small_depth : large_depth) + 1;
    if (!known_finished(after - 1))
      await([this, after] { return first_not_begun(after) == no_peer; }, slots_.progress,
            slots_.progress_sleepers, [this, after] { return first_not_begun(after); },
            " to finish reading this rank's slot of an earlier round");
    free_ = true;
  }

  // A rooted round's change that a sleeper may wait for (a posting, a round begun) is stored
  // seq_cst before this: either the sleeper sees the change, or this sees the sleeper.
  void notify_progress() {
    if (slots_.progress_sleepers.load(std::memory_order_seq_cst) == 0) return;
    slots_.progress.fetch_add(1, std::memory_order_seq_cst);
    colt::detail::futex_wake_all(slots_.progress);
  }

  // Until ready(). Spins while the others are likely running (a rank per core), then yields the
  // core (more ranks than cores: the ranks still to come may need this one, and a wake from sleep
  // costs a scheduler round trip), then sleeps on `word` in slices, checking between them for an
  // abort, a rank that returned without taking part (missing() names the rank waited for), and
  // the deadline.
  template <class Ready, class Missing>
  void await(Ready ready, std::atomic<std::uint32_t>& word, std::atomic<std::uint32_t>& sleepers,
             Missing missing, const char* what = "'s shared slot") {
    const Deadline& deadline = deadline_;
    for (int i = 0, spins = group_.spin_iterations(); i < spins; ++i) {
      if (ready()) return;
      colt::detail::cpu_relax();
    }
    for (int i = 0, yields = group_.yield_iterations(); i < yields; ++i) {
      std::this_thread::yield();
      if (ready()) return;
    }
    constexpr auto slice = std::chrono::milliseconds(10);
    while (!ready()) {
      fail_if_left(ready, missing);
      sleepers.fetch_add(1, std::memory_order_seq_cst);
      const std::uint32_t seen = word.load(std::memory_order_seq_cst);
      if (!ready()) {
        const auto nap = std::min(std::chrono::nanoseconds(slice),
                                  std::chrono::nanoseconds(deadline.at - Clock::now()));
        if (nap.count() > 0) colt::detail::futex_wait(word, seen, nap);
      }
      sleepers.fetch_sub(1, std::memory_order_seq_cst);
      if (ready()) return;
      fail_if_stuck(deadline, missing, what);
    }
  }

  // Throws a mismatch when a rank this round waits for is in another collective or went past
  // this call (core/detail/left_call.hpp): the rank missing() names, or, where it names none (a
  // gathering round that every rank must count into), any rank.
  template <class Ready, class Missing>
  void fail_if_left(Ready ready, Missing find_missing) {
    const int missing = find_missing();
    const int from = missing == no_peer ? 0 : missing;
    const int to = missing == no_peer ? static_cast<int>(slots_.ranks()) : missing + 1;
    for (int r = from; r < to; ++r) {
      if (r == rank_) continue;
      const std::optional<Tag> theirs = group_.left_call(rank_, call_, r);
      if (!theirs) continue;
      if (ready()) return;  // it did its part, then went on
      throw Error(
          ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{r},
          colt::detail::left_call(call_, *theirs, r) + ", while waiting for the shared slots");
    }
  }

  // Throws when the wait cannot end: the group was aborted, the rank waited for returned, or the
  // deadline passed. Allocates nothing unless it throws (a steady training loop stays
  // allocation-free, tests/reliability/test_soak.cpp).
  template <class Missing>
  void fail_if_stuck(const Deadline& deadline, Missing find_missing, const char* what) {
    const int missing = find_missing();
    const bool aborted = group_.aborted();
    // Still missing after it was seen to return: it will never take part.
    const bool returned =
        missing != no_peer && group_.finished(missing) && find_missing() == missing;
    const bool warn = !aborted && !returned && deadline.warning_due();
    if (!aborted && !returned && !deadline.passed() && !warn) return;
    const std::string waiting = missing == no_peer
                                    ? std::string("waiting for the shared slots")
                                    : "waiting for rank " + std::to_string(missing) + what;
    if (warn) {
      warn_still_waiting(deadline, rank_, missing,
                         waiting + " (" + std::string(name_of(call_.kind())) + " call #" +
                             std::to_string(call_.sequence()) + ")");
      if (!deadline.passed()) return;
    }
    if (aborted)
      throw Error(ErrorKind::aborted, Operation::unnamed, Error::Rank{rank_}, Error::Peer{missing},
                  "aborted while " + waiting + ": " + group_.abort_cause());
    if (returned)
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{missing},
                  "peer returned without taking part while " + waiting +
                      " (mismatched calls on the ranks?)");
    throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{rank_}, Error::Peer{missing},
                "timed out after " + deadline.budget_text() + " " + waiting);
  }

  Group& group_;
  Slots& slots_;
  Owner& me_;
  Deadline deadline_;  // of every wait of the round
  int rank_;
  SlotRoundKind kind_;
  Tag call_;  // the call this round belongs to
  std::uint32_t round_ = 0;
  bool free_ = false;  // this rank's slot of this round is free to write
};

}  // namespace colt::inprocess::detail
