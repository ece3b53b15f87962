#pragma once
// The boundary between UCX status codes and colt::Error: every ucs_status_t failure becomes a
// colt::Error carrying UCX's own text ("Endpoint timeout", "Message truncated"), the rank, the
// peer and what colt was doing.

#include "colt/transport/ucx/ucp_h.hpp"

#include <string>

#include "colt/core/error.hpp"

namespace colt::ucx {

// UCX's name for `status`, e.g. "Connection reset by remote peer".
inline std::string status_text(ucs_status_t status) { return ucs_status_string(status); }

// The kind of failure a UCX status reports: an endpoint that timed out, was reset or cannot be
// reached means the peer is gone; a truncated message means the ranks' sizes differ.
constexpr ErrorKind kind_of(ucs_status_t status) {
  switch (status) {
    case UCS_ERR_ENDPOINT_TIMEOUT:
    case UCS_ERR_CONNECTION_RESET:
    case UCS_ERR_UNREACHABLE:
    case UCS_ERR_REJECTED: return ErrorKind::peer_failed;
    case UCS_ERR_MESSAGE_TRUNCATED: return ErrorKind::mismatch;
    default: return ErrorKind::transport;
  }
}

// Throws colt::Error unless `status` is UCS_OK. `what` says what colt was doing.
inline void check(ucs_status_t status, int rank, int peer, const std::string& what) {
  if (status == UCS_OK) return;
  throw Error(kind_of(status), Operation::unnamed, Error::Rank{rank}, Error::Peer{peer},
              what + " failed: " + status_text(status));
}

}  // namespace colt::ucx
