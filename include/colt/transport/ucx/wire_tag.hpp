#pragma once
// How a colt message is labelled on the wire. One UCP worker carries every communicator split
// from the one it bootstrapped, so the 64-bit UCP tag names the communicator (its context id),
// the sender (its rank in the bootstrap group: receives match one peer, never a wildcard) and
// colt's own 31-bit tag:
//
//   bits 48..63  context id (0 for the bootstrapped communicator; 0xFFFF is the abort channel,
//                0xFFFE the recovery channel)
//   bits 32..47  sender's rank in the bootstrap group (so at most 65536 ranks)
//   bit  31      unused by colt tags; set on abort notices
//   bits  0..30  colt::Tag (collective kind, call number, step); on an abort notice, the context
//                id of the communicator aborted; on the recovery channel, the context id of the
//                communicator whose survivors agree (bits 15..30) and the agreement's tag

#include "colt/transport/ucx/ucp_h.hpp"

#include <cstdint>

#include "colt/core/tag.hpp"

namespace colt::ucx {

inline constexpr int max_ranks = 1 << 16;
inline constexpr std::uint32_t abort_context = 0xFFFF;
inline constexpr std::uint32_t recovery_context = 0xFFFE;
inline constexpr std::uint32_t max_context = recovery_context - 1;
inline constexpr ucp_tag_t match_all = ~ucp_tag_t{0};

constexpr ucp_tag_t wire_tag(std::uint32_t context, int sender, Tag tag) {
  return (static_cast<ucp_tag_t>(context) << 48) | (static_cast<ucp_tag_t>(sender) << 32) |
         static_cast<ucp_tag_t>(tag.value);
}

constexpr int sender_of(ucp_tag_t tag) { return static_cast<int>((tag >> 32) & 0xFFFF); }

// A notice from `sender` that it aborted communicator `context`; matched from any sender and
// for any communicator with `abort_mask`.
constexpr ucp_tag_t abort_tag(int sender, std::uint32_t context = 0) {
  return (static_cast<ucp_tag_t>(abort_context) << 48) | (static_cast<ucp_tag_t>(sender) << 32) |
         (ucp_tag_t{1} << 31) | context;
}
inline constexpr ucp_tag_t abort_mask = (ucp_tag_t{0xFFFF} << 48) | (ucp_tag_t{1} << 31);
constexpr std::uint32_t aborted_context_of(ucp_tag_t tag) {
  return static_cast<std::uint32_t>(tag & 0x7FFFFFFF);
}

// A message of the failure agreement of communicator `context` (recovery tags hold 15 bits).
constexpr ucp_tag_t recovery_tag(std::uint32_t context, int sender, Tag tag) {
  return wire_tag(recovery_context, sender, Tag{(context << 15) | (tag.value & 0x7FFF)});
}

}  // namespace colt::ucx
