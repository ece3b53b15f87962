#pragma once
// What the rendezvous (file_rendezvous.hpp, tcp_rendezvous.hpp) share: little-endian integers,
// the largest blob, a descriptor that closes itself, the wait between polls, and a rank list in
// an error's words.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"

namespace colt::detail::rendezvous {

inline constexpr std::size_t max_blob = std::size_t{1} << 20;

inline void put(std::vector<std::byte>& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

inline std::uint64_t get(std::span<const std::byte> in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::to_integer<std::uint64_t>(in[at + i]) << (8 * i);
  return value;
}

// Closes the descriptor it owns.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) (void)::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) (void)::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, for the caller to see the error (a full disk may show only here); -1 on failure.
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

// Sleeps between polls: 1 ms at first (ranks started together arrive within milliseconds),
// growing by half each time to 50 ms (a slow launcher costs few wakeups), never past the deadline.
class Backoff {
 public:
  void sleep(const Deadline& deadline) {
    const auto left = deadline.at - Clock::now();
    if (left <= Clock::duration::zero()) return;
    std::this_thread::sleep_for(std::min<Clock::duration>(step_, left));
    step_ = std::min<std::chrono::microseconds>(step_ * 3 / 2, std::chrono::milliseconds(50));
  }

 private:
  std::chrono::microseconds step_{1000};
};

// "1, 4, 7": the first 16 ranks of a list, then how many more.
inline std::string list_ranks(const std::vector<int>& ranks) {
  std::string text;
  for (std::size_t i = 0; i < ranks.size() && i < 16; ++i)
    text += (i ? ", " : "") + std::to_string(ranks[i]);
  if (ranks.size() > 16) text += " and " + std::to_string(ranks.size() - 16) + " more";
  return text;
}

}  // namespace colt::detail::rendezvous
