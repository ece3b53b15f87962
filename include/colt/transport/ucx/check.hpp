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

// Throws colt::Error unless `status` is UCS_OK. `what` says what colt was doing.
inline void check(ucs_status_t status, int rank, int peer, const std::string& what) {
  if (status == UCS_OK) return;
  throw Error("", rank, peer, what + " failed: " + status_text(status));
}

}  // namespace colt::ucx
