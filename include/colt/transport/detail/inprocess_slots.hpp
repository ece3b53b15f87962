#pragma once
// The shared slots of an in-process group: each rank owns a few cache-line-aligned slots that
// every other rank reads. Tiny collectives are one round of them (algorithms/slots.hpp), as
// DeepSpeed's CPU all-reduce and Open MPI's coll/xhc do it. A round is one of two kinds:
// - gathering (all_reduce, reduce_scatter, all_gather, barrier): each rank writes its slot and
//   counts itself in on one shared counter; once all have, each reads any slot;
// - rooted (broadcast, reduce): the ranks that write post their slot and go on without waiting;
//   only the ranks that read wait, and only for the slots they read. A root that runs ahead of
//   its readers is what makes a stream of small broadcasts or reduces cost one posting each.
//
// A rank uses its slots in turn (slot_depth of them), so it writes a slot again slot_depth rounds
// after it last did: first every rank must have finished that round. A rank knows so without
// asking after a gathering round (it waited until every rank had begun it, so every rank had
// finished the one before), and after reading a slot that another rank wrote once it knew; after
// rooted rounds it did not wait out, it reads the others' `begun` counts.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace colt::inprocess::detail {

// Bytes one round carries per rank: up to 4 KiB is one round, and the calls the slots are for
// (up to a few KiB) fit in it. 8 ranks hold 65 KiB of slots.
inline constexpr std::size_t slot_capacity = 4096;
// Slots per rank, used in turn: a writer may run this many rounds ahead of the slowest reader
// minus one, so a stream of rooted rounds (a root broadcasting, ranks posting to a reduce's root)
// seldom waits, and asks how far the readers are once in several rounds.
inline constexpr std::uint32_t slot_depth = 4;

class Slots {
 public:
  explicit Slots(int ranks)
      : ranks_(static_cast<std::uint32_t>(ranks)),
        owners_(static_cast<std::size_t>(ranks)),
        slots_(slot_depth * static_cast<std::size_t>(ranks)) {}

  std::uint32_t ranks() const { return ranks_; }

  // One slot: the round whose part it holds, the part's size, and the part. The header shares the
  // part's first cache line, so a reader that sees the round has the first 48 bytes with it: a
  // tiny call's hand-off is one cache line.
  struct alignas(64) Slot {
    std::atomic<std::uint32_t> published{0};
    std::uint32_t bytes = 0;
    alignas(16) std::byte data[slot_capacity]{};
  };
  // What each rank writes besides its slots: the last round it began, by which it has finished
  // reading every round before.
  struct alignas(64) Owner {
    std::atomic<std::uint32_t> begun{0};
    // The rank's own bookkeeping, which no other rank reads:
    std::uint32_t gatherings = 0;    // gathering rounds begun
    std::uint32_t all_finished = 0;  // every rank is known to have finished up to this round
  };

  Owner& owner(int rank) { return owners_[static_cast<std::size_t>(rank)]; }
  Slot& slot(int rank, std::uint32_t round) {
    return slots_[slot_depth * static_cast<std::size_t>(rank) + round % slot_depth];
  }

  // Ranks counted in so far, over all gathering rounds: the k-th (from 1) is complete once every
  // rank is, at k x ranks (modulo 2^32, compared as a difference).
  alignas(64) std::atomic<std::uint32_t> arrivals{0};
  // Waiters asleep on `arrivals`: the last rank in wakes them only when there are any.
  alignas(64) std::atomic<std::uint32_t> sleepers{0};
  // Rooted rounds' waiters sleep on `progress`, which a posting or the beginning of a rooted round
  // bumps (and wakes) only when `progress_sleepers` says someone sleeps.
  alignas(64) std::atomic<std::uint32_t> progress{0};
  alignas(64) std::atomic<std::uint32_t> progress_sleepers{0};

 private:
  std::uint32_t ranks_;
  std::vector<Owner> owners_;
  std::vector<Slot> slots_;
};

}  // namespace colt::inprocess::detail
