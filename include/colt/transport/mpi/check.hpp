#pragma once
// The boundary between MPI error codes and colt::Error. colt's communicators return MPI errors
// (MPI_ERRORS_RETURN) instead of aborting, and every code becomes a colt::Error carrying MPI's
// own text, the rank, the peer and what colt was doing.

#include "colt/transport/mpi/mpi_h.hpp"

#include <string>

#include "colt/core/error.hpp"

namespace colt::mpi {

// MPI's description of `code`, e.g. "Message truncated, error stack: ...".
inline std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error code " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

// Throws colt::Error unless `code` is MPI_SUCCESS. `what` says what colt was doing.
inline void check(int code, int rank, int peer, const std::string& what) {
  if (code == MPI_SUCCESS) return;
  throw Error(ErrorKind::transport, Operation::unnamed, Error::Rank{rank}, Error::Peer{peer},
              what + " failed: " + error_string(code));
}

}  // namespace colt::mpi
