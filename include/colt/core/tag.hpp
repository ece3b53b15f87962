#pragma once
// Message tags. A tag keeps the messages of one collective apart from those of any other call on
// the same communicator; messages of different communicators never meet because each
// communicator owns its own transport context (an in-process group, a duplicated MPI_Comm).
//
// Layout of the 31 bits (a non-negative int, so MPI can carry it unchanged):
//   bits 26..30  collective kind (CollectiveKind)
//   bits 10..25  call sequence number on the communicator (wraps at 65536)
//   bits  0..9   sub-step inside the call (wraps at 1024)
// Wrapping is safe: transports match messages between one pair of ranks in posting order
// (MPI's non-overtaking rule, kept by every colt transport), so equal tags never overtake.

#include <cstdint>
#include <string_view>

namespace colt {

enum class CollectiveKind : std::uint8_t {
  point_to_point,
  all_reduce,
  reduce_scatter,
  all_gather,
  broadcast,
  reduce,
  scatter,
  gather,
  barrier,
  split,
  internal,
  argument_check,
  all_to_all,
  // Not a call: a rank that found the ranks' calls differ says so to the others on transports
  // whose unmatched messages wait for a receiver (MPI), so their waits end too.
  mismatch_notice
};

constexpr std::string_view name_of(CollectiveKind kind) noexcept {
  switch (kind) {
    case CollectiveKind::point_to_point: return "send_recv";
    case CollectiveKind::all_reduce: return "all_reduce";
    case CollectiveKind::reduce_scatter: return "reduce_scatter";
    case CollectiveKind::all_gather: return "all_gather";
    case CollectiveKind::broadcast: return "broadcast";
    case CollectiveKind::reduce: return "reduce";
    case CollectiveKind::scatter: return "scatter";
    case CollectiveKind::gather: return "gather";
    case CollectiveKind::barrier: return "barrier";
    case CollectiveKind::split: return "split";
    case CollectiveKind::internal: return "internal";
    case CollectiveKind::all_to_all: return "all_to_all";
    case CollectiveKind::argument_check: return "argument_check";
    case CollectiveKind::mismatch_notice: return "mismatch_notice";
  }
  return "unknown";
}

// Whether a tag's sequence field numbers the call on its communicator: true for every call made
// through the communicator's call counter (the collectives, split), false for point-to-point
// messages (the field holds the user's tag) and argument checks (a fixed number).
constexpr bool numbered(CollectiveKind kind) noexcept {
  return kind != CollectiveKind::point_to_point && kind != CollectiveKind::argument_check &&
         kind != CollectiveKind::mismatch_notice;
}

struct Tag {
  std::uint32_t value = 0;

  static constexpr int kind_shift = 26;
  static constexpr int sequence_shift = 10;
  static constexpr std::uint32_t sequence_mask = 0xFFFF;
  static constexpr std::uint32_t step_mask = 0x3FF;

  static constexpr Tag make(CollectiveKind kind, std::uint32_t sequence, std::uint32_t step = 0) {
    return Tag{(static_cast<std::uint32_t>(kind) << kind_shift) |
               ((sequence & sequence_mask) << sequence_shift) | (step & step_mask)};
  }
  constexpr Tag with_step(std::uint32_t step) const {
    return Tag{(value & ~step_mask) | (step & step_mask)};
  }
  constexpr CollectiveKind kind() const { return static_cast<CollectiveKind>(value >> kind_shift); }
  constexpr std::uint32_t sequence() const { return (value >> sequence_shift) & sequence_mask; }
  constexpr std::uint32_t step() const { return value & step_mask; }
  constexpr int as_int() const { return static_cast<int>(value); }
  friend constexpr bool operator==(Tag, Tag) = default;
};

}  // namespace colt
