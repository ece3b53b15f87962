#pragma once
// How a transport's error message names the message it was waiting for: the direction, the peer
// and the collective call the tag belongs to, e.g. "receiving from peer 3 (all_reduce call #12,
// step 4)". The one describer of every transport's waits (in-process, MPI, UCX, checksums);
// in core because the checksum decorator (core/checksummed.hpp) names messages too.

#include <string>

#include "colt/core/tag.hpp"

namespace colt::detail {

inline std::string describe_message(bool is_send, int peer, Tag tag) {
  std::string what = is_send ? "sending to" : "receiving from";
  return what + " peer " + std::to_string(peer) + " (" + std::string(name_of(tag.kind())) +
         " call #" + std::to_string(tag.sequence()) + ", step " + std::to_string(tag.step()) + ")";
}

}  // namespace colt::detail
