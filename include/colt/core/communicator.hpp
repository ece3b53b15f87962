#pragma once
// Communicator<Transport>: a group of ranks plus what every collective call needs besides the
// data: a tag sequence (so successive calls never cross), a scratch workspace reused across
// calls, a timeout that bounds every wait, and the reliability options (argument checking,
// message checksums, rank-ordered reductions; docs/reliability.md).
//
// A call that fails during traffic leaves the ranks out of step (a peer may still be waiting for
// a message this rank will never send), so the communicator is then marked broken: every later
// call fails at once with the first cause instead of waiting for a timeout of its own. `abort`
// does the same by hand and, where the transport can, ends the peers' waits too.
//
// Like an NCCL communicator or an MPI communicator, one Communicator is driven by one thread at a
// time; concurrent collectives use different communicators (`dup`, `split`), whose messages
// never meet because each owns its own transport context.

#include <chrono>
#include <memory>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/core/workspace.hpp"
#include "colt/core/checksummed.hpp"

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
    throw Error(ErrorKind::invalid_argument, "", -1, no_peer,
                std::string("COLT_TIMEOUT_S='") + text + "' is not a positive number of seconds");
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// A yes/no setting from the environment: unset, empty or "0" is no, "1" is yes.
inline bool flag_from_environment(const char* name) {
  const char* text = std::getenv(name);
  if (!text || !*text || std::string_view(text) == "0") return false;
  if (std::string_view(text) == "1") return true;
  throw Error(ErrorKind::invalid_argument, "", -1, no_peer,
              std::string(name) + "='" + text + "' is not 0 or 1");
}

struct CommunicatorOptions {
  std::optional<Clock::duration> timeout{};  // unset: COLT_TIMEOUT_S, else 300 s
  // Before each collective the ranks compare their arguments and fail together, listing every
  // rank's call, when they differ. Unset: COLT_CHECK.
  std::optional<bool> check{};
  // A CRC32C on every message, checked on receipt (Checksummed). Unset: COLT_CHECKSUM.
  std::optional<bool> checksum{};
  // Reductions fold the ranks' values in rank order, bit for bit the same whatever the
  // algorithm, chunking or transport (colt::ordered per call). Unset: COLT_ORDERED.
  std::optional<bool> ordered{};
};

template <Transport T>
class Communicator {
 public:
  using transport_type = T;
  using link_type = Checksummed<T>;  // what the algorithms send and receive through

  explicit Communicator(T transport, CommunicatorOptions options = {})
      : link_(std::move(transport),
              options.checksum ? *options.checksum : flag_from_environment("COLT_CHECKSUM")),
        timeout_(options.timeout ? *options.timeout : timeout_from_environment()),
        check_(options.check ? *options.check : flag_from_environment("COLT_CHECK")),
        ordered_(options.ordered ? *options.ordered : flag_from_environment("COLT_ORDERED")),
        message_numbers_(2 * static_cast<std::size_t>(link_.size())) {}

  Communicator(Communicator&&) noexcept = default;
  Communicator& operator=(Communicator&&) noexcept = default;

  int rank() const { return link_.rank(); }
  int size() const { return link_.size(); }

  T& transport() { return link_.inner(); }
  link_type& link() { return link_; }
  Workspace& workspace() { return workspace_; }
  // Request and pointer arrays reused across calls (algorithms that talk to every peer at once).
  detail::RequestStore<link_type>& request_store() { return requests_; }
  // Per peer, the number of the next message of the current call to and from it (Call).
  std::span<std::uint32_t> message_numbers() { return message_numbers_; }

  Clock::duration timeout() const { return timeout_; }
  void set_timeout(Clock::duration timeout) { timeout_ = timeout; }
  Deadline deadline() const { return Deadline::after(timeout_); }

  bool checking() const { return check_; }
  bool checksum() const { return link_.enabled(); }
  bool ordered() const { return ordered_; }
  void set_ordered(bool ordered) { ordered_ = ordered; }
  // The options a communicator split from this one inherits.
  CommunicatorOptions options() const { return {timeout_, check_, link_.enabled(), ordered_}; }

  // The first failure that broke this communicator, or null while it is healthy.
  const Error* failure() const noexcept { return failure_.get(); }
  bool broken() const noexcept { return failure_ != nullptr; }
  // Keeps `cause` as the reason this communicator is broken, unless it already is.
  void mark_broken(const Error& cause) noexcept {
    if (failure_) return;
    try {
      failure_ = std::make_shared<const Error>(cause);
    } catch (...) {  // out of memory: the next call fails its own way
    }
  }
  // `cause`, named after the call it ended (unless a transport named it already), kept as the
  // reason this communicator is broken; the caller throws it.
  Error broken_by(const Error& cause, std::string_view call) {
    Error named = cause.collective().empty() ? cause.in_collective(call) : cause;
    if (cause.rank() < 0)  // raised below any rank (a CUDA call): this call on this rank, and what failed
      named = Error(cause.kind(), std::string(call), rank(), cause.peer(),
                    (cause.collective().empty() ? "" : cause.collective() + ": ") + cause.cause());
    mark_broken(named);
    return named;
  }
  // Breaks this communicator by hand: later calls on this rank fail at once with `cause`, and on
  // transports that can (in-process, UCX) every peer's pending and later waits end too.
  void abort(const std::string& cause) noexcept {
    try {
      mark_broken(Error(ErrorKind::aborted, "abort", rank(), no_peer, cause));
    } catch (...) {
    }
    if constexpr (AbortableTransport<T>) transport().abort(cause);
  }
  // Throws the error every call on a broken communicator ends in.
  void throw_if_broken(std::string_view collective) const {
    if (!failure_) return;
    throw Error(
        failure_->kind(), std::string(collective), rank(), failure_->peer(),
        "the communicator is broken by an earlier failure: " + std::string(failure_->what()));
  }

  // The tag of the next call. Every rank calls collectives in the same order, so the sequence
  // numbers agree without any communication.
  Tag next_tag(CollectiveKind kind) { return Tag::make(kind, sequence_++); }
  // Calls started on this communicator so far (collectives and splits): what a log line or a
  // test needs to tell how many collectives a piece of code made.
  std::uint32_t calls() const { return sequence_; }
  // Argument checking: the ranks agreed on the arguments of the call about to start.
  void set_agreed_call(std::uint32_t call) { agreed_call_ = call; }
  bool next_call_agreed() const { return agreed_call_ == sequence_; }

  // Ranks passing the same non-negative color form a new communicator, ranked by (key, rank).
  // Collective over this communicator. The new one inherits the timeout.
  Communicator split(int color, int key)
    requires SplittableTransport<T>
  {
    throw_if_broken("split");
    Tag tag = next_tag(CollectiveKind::split);
    try {
      return Communicator(transport().split(color, key, tag, deadline()), options());
    } catch (const Error& e) {
      throw broken_by(e, "split");
    }
  }

  // A communicator over the same ranks whose messages never meet this one's.
  Communicator dup()
    requires SplittableTransport<T>
  {
    return split(0, rank());
  }

 private:
  link_type link_;
  Workspace workspace_;
  detail::RequestStore<link_type> requests_;
  Clock::duration timeout_;
  bool check_;
  bool ordered_;
  std::vector<std::uint32_t> message_numbers_;
  std::uint32_t sequence_ = 0;
  std::uint32_t agreed_call_ = ~std::uint32_t{0};
  std::shared_ptr<const Error> failure_;
};

}  // namespace colt
