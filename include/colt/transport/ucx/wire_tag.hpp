#pragma once
// How a colt message is labelled on the wire. One UCP worker carries every communicator split
// from the one it bootstrapped, so the 64-bit UCP tag names the communicator (its context id),
// the sender (its rank in the bootstrap group: receives match one peer, never a wildcard) and
// colt's own 31-bit tag:
//
//   bits 48..63  context id (0 for the bootstrapped communicator; 0xFFFF is the abort channel)
//   bits 32..47  sender's rank in the bootstrap group (so at most 65536 ranks)
//   bit  31      unused by colt tags; set on abort notices
//   bits  0..30  colt::Tag (collective kind, call number, step)

#include "colt/transport/ucx/ucp_h.hpp"

#include <cstdint>

#include "colt/core/tag.hpp"

namespace colt::ucx {

inline constexpr int max_ranks = 1 << 16;
inline constexpr std::uint32_t abort_context = 0xFFFF;
inline constexpr std::uint32_t max_context = abort_context - 1;
inline constexpr ucp_tag_t match_all = ~ucp_tag_t{0};

constexpr ucp_tag_t wire_tag(std::uint32_t context, int sender, Tag tag) {
  return (static_cast<ucp_tag_t>(context) << 48) | (static_cast<ucp_tag_t>(sender) << 32) |
         static_cast<ucp_tag_t>(tag.value);
}

constexpr int sender_of(ucp_tag_t tag) { return static_cast<int>((tag >> 32) & 0xFFFF); }

// An abort notice from `sender`; matched from any sender with `abort_mask`.
constexpr ucp_tag_t abort_tag(int sender) {
  return (static_cast<ucp_tag_t>(abort_context) << 48) | (static_cast<ucp_tag_t>(sender) << 32) |
         (ucp_tag_t{1} << 31);
}
inline constexpr ucp_tag_t abort_mask = (ucp_tag_t{0xFFFF} << 48) | (ucp_tag_t{1} << 31);

}  // namespace colt::ucx
