#pragma once
// colt::Error: the one exception type of the library. It names the collective, the rank that
// raised it, the peer involved (-1 when none), the cause, and its kind: the class of failure a
// caller acts on (fix the call, retry, rebuild the communicator), as MPI's error classes and
// torch.distributed's exception types do. Foreign error codes (MPI, UCX, CUDA) are turned into
// it at the boundary. docs/errors.md says what to do about each kind.

#include "colt/core/config.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace colt {

inline constexpr int no_peer = -1;

enum class ErrorKind : std::uint8_t {
  invalid_argument,  // this rank's call is wrong; raised before any message is sent
  mismatch,          // the ranks' calls differ (counts, roots, order, or a peer left early)
  timeout,           // a wait passed the communicator's deadline
  peer_failed,       // the transport saw a peer process or endpoint fail
  aborted,           // the communicator was aborted: by Communicator::abort, or by a failing peer
  corrupt,           // bytes from a peer failed a check (checksum, malformed control message)
  transport,         // MPI, UCX or CUDA returned an error code
  internal,          // a colt bug, or a foreign exception that escaped a call
};

constexpr std::string_view name_of(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_argument: return "invalid argument";
    case ErrorKind::mismatch: return "mismatch";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::peer_failed: return "peer failed";
    case ErrorKind::aborted: return "aborted";
    case ErrorKind::corrupt: return "corrupt";
    case ErrorKind::transport: return "transport";
    case ErrorKind::internal: return "internal";
  }
  return "unknown";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string collective, int rank, int peer, std::string cause)
      : std::runtime_error(format(kind, collective, rank, peer, cause)),
        kind_(kind),
        collective_(std::move(collective)),
        rank_(rank),
        peer_(peer),
        cause_(std::move(cause)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& collective() const noexcept { return collective_; }
  int rank() const noexcept { return rank_; }
  int peer() const noexcept { return peer_; }
  const std::string& cause() const noexcept { return cause_; }

  // The same failure attributed to a collective: transports raise errors without knowing which
  // collective issued the wait, and the front door names it on the way out.
  Error in_collective(std::string_view name) const {
    return Error(kind_, std::string(name), rank_, peer_, cause_);
  }

 private:
  static std::string format(ErrorKind kind, const std::string& collective, int rank, int peer,
                            const std::string& cause) {
    std::string text = "colt";
    if (!collective.empty()) text += "::" + collective;
    if (rank >= 0) text += ": rank " + std::to_string(rank);  // -1: no rank's (the environment)
    if (peer != no_peer) text += " (peer " + std::to_string(peer) + ")";
    text += ": " + std::string(name_of(kind)) + ": " + cause;
    return text;
  }

  ErrorKind kind_;
  std::string collective_;
  int rank_;
  int peer_;
  std::string cause_;
};

}  // namespace colt
