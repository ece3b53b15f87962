#pragma once
// The shared slots of an in-process group: each rank owns two cache-line-aligned slots that every
// other rank reads. A round is one hand-off among all ranks: each rank writes its slot, counts
// itself in, and once all have, reads any slot. Tiny collectives are one round
// (algorithms/slots.hpp), as DeepSpeed's CPU all-reduce and Open MPI's coll/xhc do it.
//
// Rounds alternate between a rank's two slots, so no trailing barrier is needed: a rank that
// writes round k's slot has finished round k-1, so every rank had counted itself into round k-1,
// and so had finished reading round k-2, the last round that used the same slot.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace colt::inprocess::detail {

// Bytes one round carries per rank: up to 4 KiB is one round, and the calls the slots are for
// (up to a few KiB) fit in it. 8 ranks hold 64 KiB of slots.
inline constexpr std::size_t slot_capacity = 4096;

class Slots {
 public:
  explicit Slots(int ranks)
      : ranks_(static_cast<std::uint32_t>(ranks)),
        owners_(static_cast<std::size_t>(ranks)),
        data_(2 * static_cast<std::size_t>(ranks)) {}

  std::uint32_t ranks() const { return ranks_; }

  // What each rank writes: the round it last published in each slot, and its size.
  struct alignas(64) Owner {
    std::atomic<std::uint32_t> published[2] = {0, 0};
    std::uint32_t bytes[2] = {0, 0};
    std::uint32_t rounds = 0;  // rounds begun by this rank
  };
  struct alignas(64) Data {
    std::byte bytes[slot_capacity];
  };

  Owner& owner(int rank) { return owners_[static_cast<std::size_t>(rank)]; }
  std::byte* data(int rank, std::uint32_t round) {
    return data_[2 * static_cast<std::size_t>(rank) + (round & 1)].bytes;
  }

  // Ranks counted in so far, over all rounds: round k (from 1) is complete once every rank is,
  // at k x ranks (modulo 2^32, compared as a difference).
  alignas(64) std::atomic<std::uint32_t> arrivals{0};
  // Waiters asleep on `arrivals`: the last rank in wakes them only when there are any.
  alignas(64) std::atomic<std::uint32_t> sleepers{0};

 private:
  std::uint32_t ranks_;
  std::vector<Owner> owners_;
  std::vector<Data> data_;
};

}  // namespace colt::inprocess::detail
