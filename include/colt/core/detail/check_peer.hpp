#pragma once
// The one check of a point-to-point peer, shared by the transports and send/recv: another rank of
// the group. colt never posts a message to itself; a collective copies locally instead.

#include <string>

#include "colt/core/error.hpp"

namespace colt::detail {

// Throws ErrorKind::invalid_argument, named after `what` (unnamed below any collective), unless
// `peer` is a rank of a group of `size` other than `rank`.
inline void check_peer(Operation what, int rank, int peer, int size) {
  if (peer < 0 || peer >= size || peer == rank)
    throw Error(ErrorKind::invalid_argument, what, Error::Rank{rank}, Error::Peer{peer},
                "peer out of range (or self) for a group of " + std::to_string(size) + " ranks");
}

}  // namespace colt::detail
