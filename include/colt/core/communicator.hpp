#pragma once
// Communicator<Transport>: a group of ranks plus what every collective call needs besides the
// data: a tag sequence (so successive calls never cross), a scratch workspace reused across
// calls, and a timeout that bounds every wait.
//
// Like an NCCL communicator or an MPI communicator, one Communicator is driven by one thread at a
// time; concurrent collectives use different communicators (`dup`, `split`), whose messages
// never meet because each owns its own transport context.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/workspace.hpp"
#include "colt/transport/concepts.hpp"
#include "colt/transport/wait.hpp"

namespace colt {

namespace detail {
template <class T>
using request_t = decltype(std::declval<T&>().isend(0, std::span<const std::byte>{}, Tag{}));

template <class T>
struct view_request_of {
  using type = std::monostate;
};
template <ViewTransport T>
struct view_request_of<T> {
  using type = decltype(std::declval<T&>().irecv_view(0, Tag{}));
};

// Grows to the largest group seen and keeps its capacity: no allocation in steady state.
template <class T>
struct RequestStore {
  std::vector<request_t<T>> sends;
  std::vector<request_t<T>> receives;
  std::vector<typename view_request_of<T>::type> views;
  std::vector<const void*> inputs;

  // Ends every request still held, in the order that cannot deadlock: first the views of peers'
  // buffers (which peers' pending sends wait for), then receives, then our sends (whose
  // destructors wait for the peers to release their views of our buffers).
  void clear() noexcept {
    views.clear();
    receives.clear();
    sends.clear();
  }
};
}  // namespace detail

inline constexpr std::chrono::seconds default_timeout{300};

// The timeout from COLT_TIMEOUT_S (seconds, may be fractional), else `default_timeout`.
inline Clock::duration timeout_from_environment() {
  const char* text = std::getenv("COLT_TIMEOUT_S");
  if (!text || !*text) return default_timeout;
  char* end = nullptr;
  double seconds = std::strtod(text, &end);
  if (*end != '\0' || !(seconds > 0) || seconds > 1e9)
    throw Error("", -1, no_peer,
                std::string("COLT_TIMEOUT_S='") + text + "' is not a positive number of seconds");
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

struct CommunicatorOptions {
  std::optional<Clock::duration> timeout;  // unset: COLT_TIMEOUT_S, else 300 s
};

template <Transport T>
class Communicator {
 public:
  using transport_type = T;

  explicit Communicator(T transport, CommunicatorOptions options = {})
      : transport_(std::move(transport)),
        timeout_(options.timeout ? *options.timeout : timeout_from_environment()) {}

  Communicator(Communicator&&) noexcept = default;
  Communicator& operator=(Communicator&&) noexcept = default;

  int rank() const { return static_cast<int>(transport_.rank()); }
  int size() const { return static_cast<int>(transport_.size()); }

  T& transport() { return transport_; }
  Workspace& workspace() { return workspace_; }
  // Request and pointer arrays reused across calls (algorithms that talk to every peer at once).
  detail::RequestStore<T>& request_store() { return requests_; }

  Clock::duration timeout() const { return timeout_; }
  void set_timeout(Clock::duration timeout) { timeout_ = timeout; }
  Deadline deadline() const { return Deadline::after(timeout_); }

  // The tag of the next call. Every rank calls collectives in the same order, so the sequence
  // numbers agree without any communication.
  Tag next_tag(CollectiveKind kind) { return Tag::make(kind, sequence_++); }
  // Calls started on this communicator so far (collectives and splits): what a log line or a
  // test needs to tell how many collectives a piece of code made.
  std::uint32_t calls() const { return sequence_; }

  // Ranks passing the same non-negative color form a new communicator, ranked by (key, rank).
  // Collective over this communicator. The new one inherits the timeout.
  Communicator split(int color, int key)
    requires SplittableTransport<T>
  {
    Tag tag = next_tag(CollectiveKind::split);
    try {
      return Communicator(transport_.split(color, key, tag, deadline()),
                          CommunicatorOptions{timeout_});
    } catch (const Error& e) {
      throw e.collective().empty() ? e.in_collective("split") : e;
    }
  }

  // A communicator over the same ranks whose messages never meet this one's.
  Communicator dup()
    requires SplittableTransport<T>
  {
    return split(0, rank());
  }

 private:
  T transport_;
  Workspace workspace_;
  detail::RequestStore<T> requests_;
  Clock::duration timeout_;
  std::uint32_t sequence_ = 0;
};

}  // namespace colt
