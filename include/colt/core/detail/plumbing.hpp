#pragma once
// What the layers above share with a communicator beyond its public face: the link every
// message goes through, the per-call bookkeeping (tag sequence, message numbers, argument
// agreement, request arrays) and the broken state. Collectives, algorithms and transports reach
// it through detail::plumbing(comm); users never need it.

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "colt/core/call_descriptor.hpp"
#include "colt/core/checksummed.hpp"
#include "colt/core/deadline.hpp"
#include "colt/core/detail/failure_agreement.hpp"
#include "colt/core/error.hpp"
#include "colt/core/flight_recorder.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt::detail {

// Whether a failure of this kind may mean that a rank was lost, and so is worth an agreement
// on who failed (Plumbing::broken_by) or a recovery (ElasticTraining). A lost rank shows as its
// transport's error or a peer failure, as silence (timeout), as a revoke by a peer that saw it
// first (aborted), or as a call left early (mismatch); a wrong argument, corrupt bytes or a colt
// bug never do.
constexpr bool may_mean_lost_rank(ErrorKind kind) {
  return kind == ErrorKind::timeout || kind == ErrorKind::peer_failed ||
         kind == ErrorKind::aborted || kind == ErrorKind::mismatch || kind == ErrorKind::transport;
}

template <class T>
using request_t = decltype(std::declval<T&>().isend(0, std::span<const std::byte>{}, Tag{}));

// What the algorithms send and receive through on a communicator over T.
template <class T>
using link_t = Checksummed<T>;

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

template <Transport T>
class Plumbing {
 public:
  using link_type = link_t<T>;

  Plumbing(T transport, bool checksum, std::size_t trace_calls)
      : link_(std::move(transport), checksum),
        message_numbers_(2 * static_cast<std::size_t>(link_.size())),
        recorder_(trace_calls ? std::make_unique<FlightRecorder>(trace_calls) : nullptr) {}

  link_type& link() { return link_; }
  const link_type& link() const { return link_; }
  int rank() const { return link_.rank(); }

  // Request and pointer arrays reused across calls (algorithms that talk to every peer at once).
  RequestStore<link_type>& request_store() { return requests_; }
  // The flight recorder (core/flight_recorder.hpp); null when it records nothing.
  FlightRecorder* recorder() { return recorder_.get(); }
  const FlightRecorder* recorder() const { return recorder_.get(); }
  // The call about to run, as its front door's checks described it (ArgsCheck), for the
  // recorder; a call of another kind (one no front door checked) is described by its kind.
  void set_next_call(const CallDescriptor& d) { next_call_ = d; }
  CallDescriptor next_call(CollectiveKind kind) const {
    if (next_call_.kind == kind) return next_call_;
    CallDescriptor d;
    d.kind = kind;
    return d;
  }
  // The recorder's entry of the call running now (null when none is recorded).
  void set_current_record(CallRecord* record) {
    current_record_ = record;
    call_on_this_thread = record;  // for the watchdog (FlightRecorder::waiting_on)
  }
  CallRecord* current_record() const { return current_record_; }
  // COLT_DEBUG=INFO logs the plan of the first call of each collective and size class (a power
  // of two of bytes): true the first time.
  bool first_of_size_class(CollectiveKind kind, std::size_t bytes) {
    const auto k = static_cast<std::size_t>(kind) % logged_classes_.size();
    const auto size_class = static_cast<int>(std::bit_width(bytes));  // 0..64
    const std::uint64_t bit = std::uint64_t{1} << (size_class % 64);
    if (logged_classes_[k] & bit) return false;
    logged_classes_[k] |= bit;
    return true;
  }
  // Per peer, the number of the next message of the current call to and from it (Call).
  std::span<std::uint32_t> message_numbers() { return message_numbers_; }

  // The tag of the next call. Every rank calls collectives in the same order, so the sequence
  // numbers agree without any communication.
  // Only the thread running the call writes it (the caller's, or the progress engine's, handed
  // over through the engine's queue); others may read it at any time.
  // A transport that tracks calls learns of the call here, before any of its traffic.
  Tag next_tag(CollectiveKind kind) {
    const std::uint32_t sequence = shared_->sequence.load(std::memory_order_relaxed);
    shared_->sequence.store(sequence + 1, std::memory_order_relaxed);
    const Tag tag = Tag::make(kind, sequence);
    if constexpr (CallTrackingTransport<T>) link_.inner().enter_call(tag);
    return tag;
  }
  std::uint32_t calls() const { return shared_->sequence.load(std::memory_order_relaxed); }
  // Argument checking: the ranks agreed on the arguments of the call about to start.
  void set_agreed_call(std::uint32_t call) { agreed_call_ = call; }
  bool next_call_agreed() const { return agreed_call_ == calls(); }

  // The first failure that broke this communicator, or null while it is healthy. Set once and
  // never changed, so the pointer stays valid as long as the communicator.
  const Error* failure() const noexcept {
    if (!shared_->broken.load(std::memory_order_acquire)) return nullptr;
    return shared_->failure.get();
  }
  // Keeps `cause` as the reason this communicator is broken, unless it already is. Any thread
  // (a call on the progress engine, or abort() on the caller's).
  void mark_broken(const Error& cause) noexcept {
    std::lock_guard lock(shared_->mutex);
    if (shared_->failure) return;
    try {
      shared_->failure = std::make_shared<const Error>(cause);
      shared_->broken.store(true, std::memory_order_release);
    } catch (...) {  // out of memory: the next call fails its own way
    }
  }
  // `cause`, named after the call it ended (unless a transport named it already), kept as the
  // reason this communicator is broken; the caller throws it.
  // With failure identification on, a failure that may mean a lost rank first ends the peers'
  // waits (the transport's abort: ULFM's revoke), then the survivors agree on who failed, and
  // the error becomes peer_failed naming them.
  Error broken_by(const Error& cause, Operation call) {
    const bool unnamed = cause.operation() == Operation::unnamed;
    Error named = unnamed ? cause.in_collective(call) : cause;
    if (cause.rank() < 0)  // raised below any rank (a CUDA call): this call on this rank
      named = Error(cause.kind(), call, Error::Rank{rank()}, Error::Peer{cause.peer()},
                    (unnamed ? "" : std::string(cause.collective()) + ": ") + cause.cause());
    if (identify_ && may_mean_lost_rank(named.kind()) && !agreed()) named = identify_(*this, named);
    mark_broken(named);
    return named;
  }

  // Failure identification (Communicator::identify_failures), bounded by the timeout. Reached
  // through a pointer set only by code that turns it on, so that the agreement is compiled only
  // into programs that use it, not into every one that makes a communicator.
  void identify_failures()
    requires ShrinkableTransport<T>
  {
    identify_ = [](Plumbing& self, const Error& failure) { return self.identified(failure); };
  }
  bool identifies_failures() const { return identify_ != nullptr; }
  void set_timeout(Clock::duration timeout) { timeout_ = timeout; }

  // What the survivors agreed failed, once they have; null before.
  const AgreedFailures* agreed() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->agreed.get();
  }

  // The agreement on who failed: the one already reached on this communicator, or a new one,
  // which first ends every peer's wait on it (so they join). `cause` says why.
  const AgreedFailures& agree(const Error& cause, std::span<const int> known, bool waited)
    requires ShrinkableTransport<T>
  {
    if (const AgreedFailures* done = agreed()) return *done;
    if constexpr (AbortableTransport<T>)
      link_.inner().abort("rank " + std::to_string(rank()) + ": " + cause.what());
    auto channel = link_.inner().recovery_channel();
    const auto grace = std::min<Clock::duration>(timeout_, std::chrono::milliseconds(500));
    AgreedFailures result = agree_on_failures(
        channel,
        AgreementStart{known, static_cast<std::uint32_t>(link_.inner().successor_proposal()),
                       waited, timeout_, grace});
    std::lock_guard lock(shared_->mutex);
    shared_->agreed = std::make_shared<const AgreedFailures>(std::move(result));
    return *shared_->agreed;
  }
  // Throws the error every call on a broken communicator ends in.
  void throw_if_broken(Operation collective) const {
    const Error* first = failure();
    if (!first) return;
    throw Error(first->kind(), collective, Error::Rank{rank()}, Error::Peer{first->peer()},
                "the communicator is broken by an earlier failure: " + std::string(first->what()));
  }

 private:
  link_type link_;
  RequestStore<link_type> requests_;
  std::vector<std::uint32_t> message_numbers_;
  // What the caller's thread may read while the progress engine runs a call; behind a pointer,
  // so that the plumbing stays movable.
  struct Shared {
    std::atomic<std::uint32_t> sequence{0};
    std::atomic<bool> broken{false};
    mutable std::mutex mutex;  // for setting `failure` and `agreed`
    std::shared_ptr<const Error> failure;
    std::shared_ptr<const AgreedFailures> agreed;
  };
  std::unique_ptr<Shared> shared_ = std::make_unique<Shared>();
  std::unique_ptr<FlightRecorder> recorder_;  // behind a pointer: its atomics do not move
  CallDescriptor next_call_{};
  CallRecord* current_record_ = nullptr;
  std::array<std::uint64_t, 16> logged_classes_{};
  std::uint32_t agreed_call_ = ~std::uint32_t{0};
  Error (*identify_)(Plumbing&, const Error&) = nullptr;
  Clock::duration timeout_{};

  // `failure`, after the survivors agreed: peer_failed naming the ranks that failed, if any.
  Error identified(const Error& failure)
    requires ShrinkableTransport<T>
  {
    std::vector<int> known;
    if (failure.kind() == ErrorKind::peer_failed && failure.peer() >= 0)
      known.push_back(failure.peer());
    const AgreedFailures* result = nullptr;
    try {
      result = &agree(failure, known, failure.kind() == ErrorKind::timeout);
    } catch (const Error& excluded) {  // the others declared this rank failed
      return Error(ErrorKind::peer_failed, failure.operation(), Error::Rank{rank()},
                   excluded.cause() + " (this rank's call had failed: " + failure.cause() + ")");
    }
    if (result->failed.empty()) return failure;
    std::string ranks;
    for (const int r : result->failed) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    const std::size_t survivors = static_cast<std::size_t>(link_.size()) - result->failed.size();
    return Error(ErrorKind::peer_failed, failure.operation(), Error::Rank{rank()},
                 Error::Peer{result->failed.front()},
                 (result->failed.size() == 1 ? "rank " : "ranks ") + ranks + " failed, as the " +
                     std::to_string(survivors) + " surviving ranks agreed (this rank's call " +
                     "ended with: " + std::string(name_of(failure.kind())) + ": " +
                     failure.cause() + ")");
  }
};

}  // namespace colt::detail
