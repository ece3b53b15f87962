#pragma once
// colt::Error: the one exception type of the library. It names the collective, the rank that
// raised it, the peer involved (-1 when none) and the cause, so a failure on rank 5 of 64 can be
// read without a debugger. Foreign error codes (MPI, UCX, CUDA) are turned into it at the boundary.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace colt {

inline constexpr int no_peer = -1;

class Error : public std::runtime_error {
 public:
  Error(std::string collective, int rank, int peer, std::string cause)
      : std::runtime_error(format(collective, rank, peer, cause)),
        collective_(std::move(collective)),
        rank_(rank),
        peer_(peer),
        cause_(std::move(cause)) {}

  const std::string& collective() const noexcept { return collective_; }
  int rank() const noexcept { return rank_; }
  int peer() const noexcept { return peer_; }
  const std::string& cause() const noexcept { return cause_; }

  // The same failure attributed to a collective: transports raise errors without knowing which
  // collective issued the wait, and the front door names it on the way out.
  Error in_collective(std::string_view name) const {
    return Error(std::string(name), rank_, peer_, cause_);
  }

 private:
  static std::string format(const std::string& collective, int rank, int peer,
                            const std::string& cause) {
    std::string text = "colt";
    if (!collective.empty()) text += "::" + collective;
    text += ": rank " + std::to_string(rank);
    if (peer != no_peer) text += " (peer " + std::to_string(peer) + ")";
    text += ": " + cause;
    return text;
  }

  std::string collective_;
  int rank_;
  int peer_;
  std::string cause_;
};

}  // namespace colt
