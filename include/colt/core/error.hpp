#pragma once
// colt::Error: the one exception type of the library. It names the operation (from the fixed
// list in operation.hpp), the rank that raised it, the peer involved (none when no peer is),
// the cause, and its kind: the class of failure a
// caller acts on (fix the call, retry, rebuild the communicator), as MPI's error classes and
// torch.distributed's exception types do. Foreign error codes (MPI, UCX, CUDA) are turned into
// it at the boundary. docs/errors.md says what to do about each kind.

#include "colt/core/config.hpp"
#include "colt/core/operation.hpp"

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
  // The rank that raised the error and the peer it concerns, as two types that do not convert
  // into each other: a construction cannot swap them (both were plain ints once).
  struct Rank {
    constexpr explicit Rank(int rank) noexcept : value(rank) {}
    int value;
  };
  struct Peer {
    constexpr explicit Peer(int peer) noexcept : value(peer) {}
    int value;
  };
  // Raised below any rank: the environment, a file, a device call made outside a communicator.
  static const Rank no_rank;

  Error(ErrorKind kind, Operation operation, Rank rank, Peer peer, std::string cause)
      : std::runtime_error(format(kind, operation, rank.value, peer.value, cause)),
        kind_(kind),
        operation_(operation),
        rank_(rank.value),
        peer_(peer.value),
        cause_(std::move(cause)) {}
  // An error that concerns no peer.
  Error(ErrorKind kind, Operation operation, Rank rank, std::string cause)
      : Error(kind, operation, rank, Peer(no_peer), std::move(cause)) {}

  ErrorKind kind() const noexcept { return kind_; }
  Operation operation() const noexcept { return operation_; }
  // The operation's name, as messages print it ("" when unnamed).
  std::string_view collective() const noexcept { return name_of(operation_); }
  int rank() const noexcept { return rank_; }
  int peer() const noexcept { return peer_; }
  const std::string& cause() const noexcept { return cause_; }

  // The same failure attributed to an operation: transports raise errors without knowing which
  // collective issued the wait, and the front door names it on the way out.
  Error in_collective(Operation operation) const {
    return Error(kind_, operation, Rank(rank_), Peer(peer_), cause_);
  }

 private:
  static std::string format(ErrorKind kind, Operation operation, int rank, int peer,
                            const std::string& cause) {
    std::string text = "colt";
    if (operation != Operation::unnamed) text += "::" + std::string(name_of(operation));
    if (rank >= 0) text += ": rank " + std::to_string(rank);  // no_rank: no rank's (environment)
    if (peer != no_peer) text += " (peer " + std::to_string(peer) + ")";
    text += ": " + std::string(name_of(kind)) + ": " + cause;
    return text;
  }

  ErrorKind kind_;
  Operation operation_;
  int rank_;
  int peer_;
  std::string cause_;
};

inline constexpr Error::Rank Error::no_rank{-1};

}  // namespace colt
