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
// A rank's part of a round goes into one of two rings of its own, used in turn: a part of up to
// small_capacity bytes into a small slot, a larger one into a large slot. Either way the slot's
// header shares the part's first cache line, so a tiny call's hand-off is one cache line. A slot
// is written again only once every rank has finished the round that last used it, depth rounds
// ago. A rank knows so without asking after a gathering round (it waited until every rank had
// begun it, so every rank had finished the one before), and after reading a part that another
// rank wrote once it knew; after rooted rounds it did not wait out, it reads the others' `begun`
// counts.
//
// Why two rings: a writer of rooted rounds runs up to depth - 1 rounds ahead of the slowest reader,
// and with more ranks than cores a reader runs only once per scheduler turn, so a stream of small
// broadcasts costs a turn of every rank per depth - 1 calls. A depth of 32 makes that turn rare.
// Deep rings of large slots slowed 8-rank gathering rounds (the footprint of a stream of tiny
// calls), and deep rings of small ones did not: so the deep ring has small slots. The
// measurements are in docs/performance.md ("Figures behind the code").

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace colt::inprocess::detail {

// Bytes one round carries per rank (a large slot): up to 4 KiB is one round, and the calls the
// slots are for (up to a few KiB) fit in it.
inline constexpr std::size_t slot_capacity = 4096;
// Large slots per rank, used in turn by the parts larger than a small slot.
inline constexpr std::uint32_t large_depth = 4;
// Bytes a small slot carries (with its header, 576 bytes): 128 floats fit.
inline constexpr std::size_t small_capacity = 512;
// Small slots per rank, used in turn by the parts that fit one: a writer of small rooted rounds
// may run 31 rounds ahead of the slowest reader.
inline constexpr std::uint32_t small_depth = 32;

class Slots {
 public:
  explicit Slots(int ranks)
      : ranks_(static_cast<std::uint32_t>(ranks)),
        owners_(static_cast<std::size_t>(ranks)),
        small_slots_(small_depth * static_cast<std::size_t>(ranks)),
        large_slots_(large_depth * static_cast<std::size_t>(ranks)) {}

  std::uint32_t ranks() const { return ranks_; }

  // A slot of either ring: the round whose part it holds, the part's size, the call, and the
  // part. The header shares the part's first cache line, so a reader that sees the round has the
  // part's first 48 bytes with it. `call` is the tag of the call that wrote it, so that a rank in
  // another collective that reached the same round reads a mismatch, never that call's data.
  struct Header {
    std::atomic<std::uint32_t> published{0};
    std::uint32_t bytes = 0;
    std::uint32_t call = 0;
  };
  template <std::size_t Capacity>
  struct alignas(64) Slot : Header {
    alignas(16) std::byte data[Capacity]{};
  };
  using SmallSlot = Slot<small_capacity>;
  using LargeSlot = Slot<slot_capacity>;
  static_assert(sizeof(SmallSlot) == 576);
  // What each rank writes besides its slots: the last round it began, by which it has finished
  // reading every round before.
  struct alignas(64) Owner {
    std::atomic<std::uint32_t> begun{0};
    // The rank's own bookkeeping, which no other rank reads:
    std::uint32_t gatherings = 0;    // gathering rounds begun
    std::uint32_t all_finished = 0;  // every rank is known to have finished up to this round
  };

  Owner& owner(int rank) { return owners_[static_cast<std::size_t>(rank)]; }
  SmallSlot& small_slot(int rank, std::uint32_t round) {
    return small_slots_[small_depth * static_cast<std::size_t>(rank) + round % small_depth];
  }
  LargeSlot& large_slot(int rank, std::uint32_t round) {
    return large_slots_[large_depth * static_cast<std::size_t>(rank) + round % large_depth];
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
  std::vector<SmallSlot> small_slots_;
  std::vector<LargeSlot> large_slots_;
};

}  // namespace colt::inprocess::detail
