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
// Its public face is what a user needs. What collectives, algorithms and transports share with it
// besides (the link messages go through, tag sequence, message numbers, argument agreement,
// request arrays, marking it broken) is its plumbing, reached through detail::plumbing(comm).
//
// Like an NCCL communicator or an MPI communicator, one Communicator is driven by one thread at a
// time; concurrent collectives use different communicators (`dup`, `split`), whose messages
// never meet because each owns its own transport context.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/detail/plumbing.hpp"
#include "colt/core/detail/progress_engine.hpp"
#include "colt/core/request.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/core/workspace.hpp"

namespace colt {

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
class Communicator;

namespace detail {
// The communicator's plumbing, for the layers above (core/detail/plumbing.hpp).
template <Transport T>
Plumbing<T>& plumbing(Communicator<T>& comm);
// Its progress engine (core/detail/progress_engine.hpp), started on first use; null before.
template <Transport T>
ProgressEngine* engine_if_started(Communicator<T>& comm);
template <Transport T>
ProgressEngine& engine(Communicator<T>& comm);
}  // namespace detail

template <Transport T>
class Communicator {
 public:
  using transport_type = T;

  explicit Communicator(T transport, CommunicatorOptions options = {})
      : plumbing_(std::move(transport),
                  options.checksum ? *options.checksum : flag_from_environment("COLT_CHECKSUM")),
        timeout_(options.timeout ? *options.timeout : timeout_from_environment()),
        check_(options.check ? *options.check : flag_from_environment("COLT_CHECK")),
        ordered_(options.ordered ? *options.ordered : flag_from_environment("COLT_ORDERED")) {
    plumbing_.set_timeout(timeout_);
  }

  // A communicator moves once its started calls have finished (they hold its address).
  Communicator(Communicator&& other) noexcept
      : plumbing_((other.drain(), std::move(other.plumbing_))),
        workspace_(std::move(other.workspace_)),
        timeout_(other.timeout_),
        check_(other.check_),
        ordered_(other.ordered_),
        engine_(std::move(other.engine_)) {}
  Communicator& operator=(Communicator&& other) noexcept {
    if (this == &other) return *this;
    drain();
    other.drain();
    engine_.reset();
    plumbing_ = std::move(other.plumbing_);
    workspace_ = std::move(other.workspace_);
    timeout_ = other.timeout_;
    check_ = other.check_;
    ordered_ = other.ordered_;
    engine_ = std::move(other.engine_);
    return *this;
  }
  // Waits for the calls it started (the progress engine finishes them).
  ~Communicator() = default;

  int rank() const { return plumbing_.link().rank(); }
  int size() const { return plumbing_.link().size(); }

  T& transport() { return plumbing_.link().inner(); }
  // Scratch memory reused across calls (algorithms take it per call; so may user code between
  // calls).
  Workspace& workspace() { return workspace_; }

  Clock::duration timeout() const { return timeout_; }
  void set_timeout(Clock::duration timeout) {
    timeout_ = timeout;
    plumbing_.set_timeout(timeout);
  }
  Deadline deadline() const { return Deadline::after(timeout_); }

  bool checking() const { return check_; }
  bool checksum() const { return plumbing_.link().enabled(); }
  bool ordered() const { return ordered_; }
  void set_ordered(bool ordered) { ordered_ = ordered; }
  // The options a communicator split from this one inherits.
  CommunicatorOptions options() const { return {timeout_, check_, checksum(), ordered_}; }

  // On a transport that can shrink (in-process, UCX): from now on, a call that fails in a way a
  // lost rank would cause (a timeout, a failed or silent peer, an abort) first ends every peer's
  // wait, then the survivors agree on which ranks failed; the error is peer_failed naming them,
  // and `shrink` goes on without them. Bounded by the timeout (docs/fault-tolerance.md). Every
  // rank turns it on. Not inherited by split or dup: the survivors of a failure agree once, over
  // the communicator they will shrink, while calls on the others just fail.
  void identify_failures()
    requires ShrinkableTransport<T>
  {
    plumbing_.identify_failures();
  }
  bool identifies_failures() const { return plumbing_.identifies_failures(); }

  // The first failure that broke this communicator, or null while it is healthy.
  const Error* failure() const noexcept { return plumbing_.failure(); }
  bool broken() const noexcept { return failure() != nullptr; }
  // Breaks this communicator by hand: later calls on this rank fail at once with `cause`, and on
  // transports that can (in-process, UCX) every peer's pending and later waits end too.
  void abort(const std::string& cause) noexcept {
    try {
      plumbing_.mark_broken(Error(ErrorKind::aborted, "abort", rank(), no_peer, cause));
    } catch (...) {
    }
    if constexpr (AbortableTransport<T>) transport().abort(cause);
  }

  // Calls started on this communicator so far (collectives and splits): what a log line or a
  // test needs to tell how many collectives a piece of code made.
  std::uint32_t calls() const { return plumbing_.calls(); }

  // Ranks passing the same non-negative color form a new communicator, ranked by (key, rank).
  // Collective over this communicator. The new one inherits the timeout.
  Communicator split(int color, int key)
    requires SplittableTransport<T>
  {
    std::optional<Communicator> part;
    detail::run_in_order(engine_.get(), [&] {  // after the calls started before it
      plumbing_.throw_if_broken("split");
      Tag tag = plumbing_.next_tag(CollectiveKind::split);
      try {
        part.emplace(transport().split(color, key, tag, deadline()), options());
      } catch (const Error& e) {
        throw plumbing_.broken_by(e, "split");
      }
    });
    return std::move(*part);
  }

  // A communicator over the same ranks whose messages never meet this one's.
  Communicator dup()
    requires SplittableTransport<T>
  {
    return split(0, rank());
  }

  // The ranks the survivors of a failure agreed have failed (ascending ranks of this
  // communicator); empty until a failed call (after identify_failures) or `shrink` agreed.
  std::vector<int> failed_ranks() const {
    const detail::AgreedFailures* agreed = plumbing_.agreed();
    return agreed ? agreed->failed : std::vector<int>{};
  }

  // A communicator of the ranks that have not failed, renumbered in this one's order: after a
  // failed call, what the survivors agreed; otherwise they agree now (every live rank calls
  // shrink; a rank still inside a call on this communicator is ended first). Bounded by the
  // timeout, and more failures during it are tolerated. This communicator is broken afterwards.
  // Throws peer_failed on a rank that the others declared failed (it answered too late).
  Communicator shrink()
    requires ShrinkableTransport<T>
  {
    std::optional<Communicator> survivors;
    detail::run_in_order(engine_.get(), [&] {
      const Error cause(ErrorKind::aborted, "shrink", rank(), no_peer, "shrink was called");
      const detail::AgreedFailures& agreed = plumbing_.agree(cause, {}, false);
      plumbing_.mark_broken(cause);
      survivors.emplace(transport().without(agreed.failed, agreed.proposal), options());
      if (plumbing_.identifies_failures()) survivors->identify_failures();
    });
    return std::move(*survivors);
  }

 private:
  friend detail::Plumbing<T>& detail::plumbing<T>(Communicator<T>&);
  friend detail::ProgressEngine* detail::engine_if_started<T>(Communicator<T>&);
  friend detail::ProgressEngine& detail::engine<T>(Communicator<T>&);

  void drain() noexcept {
    if (engine_) engine_->drain();
  }

  detail::Plumbing<T> plumbing_;
  Workspace workspace_;
  Clock::duration timeout_;
  bool check_;
  bool ordered_;
  // Last, so it is destroyed (its thread joined, its queue run) before what its calls use.
  std::unique_ptr<detail::ProgressEngine> engine_;
};

namespace detail {
template <Transport T>
Plumbing<T>& plumbing(Communicator<T>& comm) {
  return comm.plumbing_;
}
template <Transport T>
ProgressEngine* engine_if_started(Communicator<T>& comm) {
  return comm.engine_.get();
}
template <Transport T>
ProgressEngine& engine(Communicator<T>& comm) {
  if (!comm.engine_) comm.engine_ = std::make_unique<ProgressEngine>();
  return *comm.engine_;
}
}  // namespace detail

}  // namespace colt
