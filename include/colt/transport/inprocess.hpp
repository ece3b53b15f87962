#pragma once
// In-process transport: n ranks as threads of one process, the embedded default (no launcher,
// nothing to install). Messages are rendezvous: nothing is buffered, the receiver's data comes
// straight from the sender's memory, and `irecv_view` lets a receiver reduce out of it directly.
//
// Waiting spins briefly, then sleeps on a futex in short slices, checking between slices for an
// aborted group, a finished peer and the deadline: more ranks than cores stay fast (a sleeping
// rank gives its core to the rank it waits for), and nothing hangs.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <atomic>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "colt/core/communicator.hpp"
#include "colt/core/deadline.hpp"
#include "colt/core/detail/check_peer.hpp"
#include "colt/core/detail/fnv1a.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/core/detail/describe_message.hpp"
#include "colt/core/detail/exchange.hpp"
#include "colt/transport/detail/futex.hpp"
#include "colt/transport/detail/inprocess_group.hpp"
#include "colt/transport/detail/inprocess_slot_round.hpp"
#include "colt/transport/detail/split_part.hpp"

namespace colt::inprocess {

namespace detail {

inline std::string describe(const Posting& p) {
  return colt::detail::describe_message(p.kind == Kind::send, p.peer, Tag{p.tag});
}

// Blocks until `p` is done. Spins first (a peer on another core answers within microseconds),
// then sleeps in slices so that an abort, a finished peer or the deadline ends the wait.
// `deadline` is a `const Deadline*`, or `nullptr` for a cleanup wait, which never throws.
template <class DeadlinePtr>
void block_until_done(Group& group, Posting& p, DeadlinePtr deadline) {
  constexpr bool cleanup = std::is_null_pointer_v<DeadlinePtr>;
  constexpr auto slice = std::chrono::milliseconds(10);
  for (int i = 0, spins = group.spin_iterations(); i < spins; ++i) {
    if (p.state.load(std::memory_order_acquire) & done) return;
    colt::detail::cpu_relax();
  }
  std::this_thread::yield();
  std::uint32_t state = p.state.load(std::memory_order_acquire);
  while (!(state & done)) {
    if constexpr (!cleanup) {
      // A peer in another collective, or gone past this call, will never match this posting.
      if (const std::optional<Tag> theirs = group.left_call(p.owner, Tag{p.tag}, p.peer)) {
        state = p.state.load(std::memory_order_acquire);  // matched before it went on?
        if (state & done) return;
        throw Error(
            ErrorKind::mismatch, Operation::unnamed, Error::Rank{p.owner}, Error::Peer{p.peer},
            colt::detail::left_call(Tag{p.tag}, *theirs, p.peer) + ", while " + describe(p));
      }
    }
    if (!(state & sleeping)) {
      if (!p.state.compare_exchange_weak(state, state | sleeping, std::memory_order_acq_rel))
        continue;
      state |= sleeping;
    }
    auto now = Clock::now();
    auto nap = std::chrono::nanoseconds(slice);
    if constexpr (!cleanup) nap = std::min(nap, std::chrono::nanoseconds(deadline->at - now));
    if (nap.count() > 0) colt::detail::futex_wait(p.state, state, nap);
    state = p.state.load(std::memory_order_acquire);
    if (state & done) return;
    if constexpr (!cleanup) {  // a cleanup wait's transfer is under way and will finish
      const bool peer_finished = group.finished(p.peer);
      const bool aborted = group.aborted();
      if (peer_finished || aborted || deadline->passed()) {
        // The peer may have matched and completed this posting after `state` was read and before
        // it finished: look again now that its `finished` store is visible (it follows the match).
        state = p.state.load(std::memory_order_acquire);
        if (state & done) return;
      }
      if (aborted)
        throw Error(ErrorKind::aborted, Operation::unnamed, Error::Rank{p.owner},
                    Error::Peer{p.peer},
                    "aborted while " + describe(p) + ": " + group.abort_cause());
      if (!(state & matched) && peer_finished)
        throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{p.owner},
                    Error::Peer{p.peer},
                    "peer returned without matching this message while " + describe(p) +
                        " (mismatched calls on the ranks?)");
      if (deadline->passed())
        throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{p.owner},
                    Error::Peer{p.peer},
                    "timed out after " + deadline->budget_text() + " " + describe(p));
      if (deadline->warning_due()) warn_still_waiting(*deadline, p.owner, p.peer, describe(p));
    }
  }
}

// Owns one posting; destroying a pending request cancels it, or waits for a transfer that a
// peer already started (it reads or writes our buffer, which must outlive that).
class PostingHandle {
 public:
  PostingHandle() = default;
  PostingHandle(Group* group, Posting* posting) : group_(group), posting_(posting) {}
  PostingHandle(PostingHandle&& other) noexcept
      : group_(other.group_), posting_(std::exchange(other.posting_, nullptr)) {}
  PostingHandle& operator=(PostingHandle&& other) noexcept {
    if (this != &other) {
      reset();  // cppcheck-suppress throwInNoexceptFunction ; its cleanup wait cannot throw
      group_ = other.group_;
      posting_ = std::exchange(other.posting_, nullptr);
    }
    return *this;
  }
  ~PostingHandle() { reset(); }

  // Done; or, where wait() would fail at once (the group aborted, or the peer returned without
  // matching this message), throws what wait() would: a poller learns of it as a waiter does.
  bool test() const {
    const std::uint32_t state = posting_->state.load(std::memory_order_acquire);
    if (state & done) return true;
    const bool peer_gone = !(state & matched) && group_->finished(posting_->peer);
    if (!group_->aborted() && !peer_gone) return false;
    const Deadline now{Clock::now(), Clock::duration::zero()};
    block_until_done(*group_, *posting_, &now);  // done meanwhile, or throws
    return true;
  }

 protected:
  void reset() noexcept {
    if (!posting_) return;
    Posting* p = std::exchange(posting_, nullptr);
    if (!(p->state.load(std::memory_order_acquire) & done) && !group_->cancel(p)) {
      // A peer holds this buffer (a view of our send, or its copy into our receive). If this
      // rank is unwinding from an error, that peer may itself be waiting for a message this rank
      // will never send: abort the group now so the peer's wait ends and it lets go, instead of
      // both waiting for the peer's deadline.
      if (std::uncaught_exceptions() > 0) {
        try {
          group_->abort("rank " + std::to_string(p->owner) + " failed while " + describe(*p),
                        p->owner);
        } catch (...) {  // out of memory for the message: the peer ends at its deadline instead
        }
      }
      // cppcheck-suppress throwInNoexceptFunction ; a cleanup wait (no deadline) cannot throw
      block_until_done(*group_, *p, nullptr);
    }
    if (p->kind == Kind::receive_view && p->view_of) p->view_of->complete();
    group_->mailbox(p->owner).pool.release(p);
  }

  Group* group_ = nullptr;  // a request never outlives the transport that made it
  Posting* posting_ = nullptr;
};

}  // namespace detail

class Request : public detail::PostingHandle {
 public:
  using PostingHandle::PostingHandle;

  std::size_t wait(const Deadline& deadline) {
    detail::block_until_done(*group_, *posting_, &deadline);
    if (posting_->status == detail::Status::truncated)
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{posting_->owner},
                  Error::Peer{posting_->peer},
                  "message of " + std::to_string(posting_->transferred) +
                      " bytes does not fit the receive buffer of " +
                      std::to_string(posting_->size) + " bytes while " +
                      detail::describe(*posting_));
    return posting_->transferred;
  }
};

class ViewRequest : public detail::PostingHandle {
 public:
  using PostingHandle::PostingHandle;

  // The sender's bytes, valid until release().
  std::span<const std::byte> wait(const Deadline& deadline) {
    detail::block_until_done(*group_, *posting_, &deadline);
    const detail::Posting* send = posting_->view_of;
    return {send->send_data, send->size};
  }
  void release() { reset(); }
};

namespace detail {

// A receive from the notice board, or a send already posted there (which needs no receiver).
class NoteRequest {
 public:
  NoteRequest() = default;
  NoteRequest(Group* group, int rank, int peer, Tag tag, std::span<std::byte> buffer)
      : group_(group), rank_(rank), peer_(peer), tag_(tag), buffer_(buffer), pending_(true) {}

  // True once the note has arrived; throws colt::Error when it never can: the peer's thread has
  // ended without posting it (peer_failed), or it is larger than the buffer (mismatch).
  bool test() {
    if (!pending_) return true;
    std::ptrdiff_t size = group_->board().take(peer_, rank_, tag_.value, buffer_);
    if (size < 0 && group_->finished(peer_))  // posted just before it ended?
      size = group_->board().take(peer_, rank_, tag_.value, buffer_);
    if (size < 0 && group_->finished(peer_))
      throw Error(
          ErrorKind::peer_failed, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
          "peer's thread ended while " + colt::detail::describe_message(false, peer_, tag_));
    if (size < 0) return false;
    if (static_cast<std::size_t>(size) > buffer_.size())
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                  "note of " + std::to_string(size) + " bytes does not fit " +
                      std::to_string(buffer_.size()));
    transferred_ = static_cast<std::size_t>(size);
    pending_ = false;
    return true;
  }
  std::size_t wait(const Deadline& deadline) {
    for (auto nap = std::chrono::microseconds(20); !test();
         nap = std::min(2 * nap, std::chrono::microseconds(1000))) {
      if (deadline.passed())
        throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                    "timed out after " + deadline.budget_text() + " " +
                        colt::detail::describe_message(false, peer_, tag_));
      std::this_thread::sleep_for(nap);
    }
    return transferred_;
  }

 private:
  Group* group_ = nullptr;
  int rank_ = 0, peer_ = 0;
  Tag tag_{};
  std::span<std::byte> buffer_{};
  bool pending_ = false;
  std::size_t transferred_ = 0;
};

// The point-to-point messages of a failure agreement, over the group's notice board.
class RecoveryChannel {
 public:
  RecoveryChannel(Group* group, int rank) : group_(group), rank_(rank) {}
  int rank() const { return rank_; }
  int size() const { return group_->size(); }
  NoteRequest isend(int peer, std::span<const std::byte> data, Tag tag) {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    group_->board().post(rank_, peer, tag.value, data);
    return NoteRequest();
  }
  NoteRequest irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    return NoteRequest(group_, rank_, peer, tag, buffer);
  }

 private:
  Group* group_;
  int rank_;
};

}  // namespace detail

class Transport {
 public:
  static constexpr std::string_view name = "in-process";  // in logs and flight-recorder dumps
  Transport(std::shared_ptr<detail::Group> group, int rank)
      : group_(std::move(group)), rank_(rank) {}
  Transport(const Transport& other) : group_(other.group_), rank_(other.rank_) {}
  Transport& operator=(const Transport& other) {
    if (this == &other) return *this;
    group_ = other.group_;
    rank_ = other.rank_;
    communicator_ = 0;
    return *this;
  }
  Transport(Transport&&) noexcept = default;
  Transport& operator=(Transport&&) noexcept = default;
  ~Transport() = default;

  int rank() const { return rank_; }
  int size() const { return group_->size(); }

  Request isend(int peer, std::span<const std::byte> data, Tag tag) {
    detail::Posting* p = make(detail::Kind::send, peer, tag);
    p->send_data = data.data();
    p->size = data.size();
    Request request(group_.get(), p);
    group_->post_send(p);
    return request;
  }

  Request irecv(int peer, std::span<std::byte> buffer, Tag tag) {
    detail::Posting* p = make(detail::Kind::receive, peer, tag);
    p->receive_data = buffer.data();
    p->size = buffer.size();
    Request request(group_.get(), p);
    group_->post_receive(p);
    return request;
  }

  ViewRequest irecv_view(int peer, Tag tag) {
    detail::Posting* p = make(detail::Kind::receive_view, peer, tag);
    ViewRequest request(group_.get(), p);
    group_->post_receive(p);
    return request;
  }

  // Ranks with the same color form a new group, ordered by (key, rank). Colors and keys are
  // exchanged as messages in this group; the new group is created by the first member to arrive.
  Transport split(int color, int key, Tag tag, const Deadline& deadline) {
    if (color < 0)
      throw Error(ErrorKind::invalid_argument, Operation::split, Error::Rank{rank_},
                  "color must be non-negative");
    const auto me = static_cast<std::size_t>(rank_);
    std::vector<std::int64_t> entries(2 * static_cast<std::size_t>(size()));
    entries[2 * me] = color;
    entries[2 * me + 1] = key;
    colt::detail::exchange_with_all(*this, std::span(entries), 2, tag, deadline);

    const colt::detail::SplitPart part = colt::detail::split_part(entries, 2, rank_);
    std::uint64_t key_of_group =
        (std::uint64_t{tag.value} << 32) | static_cast<std::uint32_t>(color);
    return Transport(group_->join_subgroup(key_of_group, part.members), part.rank);
  }

  // Failure agreement (core/detail/failure_agreement.hpp): its messages go over the group's
  // notice board, which an abort does not end; a peer whose thread has ended fails at once.
  detail::RecoveryChannel recovery_channel() { return {group_.get(), rank_}; }
  // Nothing to propose: the survivors' group is found by the set of ranks that failed.
  std::uint32_t successor_proposal() const { return 0; }
  // The group of every rank but `failed` (sorted ranks of this group, agreed by the survivors),
  // in this group's order, made without messages. It is no child of this group: an abort of this
  // group (how its failure reached every rank) leaves it working.
  Transport without(std::span<const int> failed, std::uint32_t) {
    std::vector<int> survivors;
    int new_rank = -1;
    for (int r = 0; r < size(); ++r) {
      if (std::binary_search(failed.begin(), failed.end(), r)) continue;
      if (r == rank_) new_rank = static_cast<int>(survivors.size());
      survivors.push_back(r);
    }
    if (new_rank < 0)
      throw Error(ErrorKind::invalid_argument, Operation::shrink, Error::Rank{rank_},
                  "this rank is among the failed ranks");
    std::uint64_t key = colt::detail::fnv1a_basis;
    for (const int r : failed) key = colt::detail::fnv1a_u64(static_cast<std::uint64_t>(r), key);
    key |= std::uint64_t{1} << 63;  // split keys have a 31-bit tag in the high word
    return Transport(group_->join_subgroup(key, survivors, false), new_rank);
  }

  // The call this rank begins (CallTrackingTransport): a peer's slow wait on this rank reads it.
  // A copy of a transport is another communicator's: it numbers itself at its first call.
  void enter_call(Tag call) noexcept {
    if (communicator_ == 0) communicator_ = group_->next_communicator(rank_);
    group_->enter_call(rank_, {communicator_, call});
  }

  // Shared slots (algorithms/slots.hpp): what a round carries per rank, and a new round. Every
  // rank of the group begins the same rounds in the same order.
  static constexpr std::size_t slot_capacity() { return detail::slot_capacity; }
  detail::SlotRound begin_slot_round(SlotRoundKind kind, const Deadline& deadline) {
    return detail::SlotRound(*group_, rank_, kind, deadline);
  }

  detail::Group& group() { return *group_; }

  // Ends every wait of every member of this group (and of groups split from it) in an Error.
  void abort(const std::string& cause) noexcept {
    try {
      group_->abort(cause, rank_);
    } catch (...) {  // out of memory for the message: the group stays as it was
    }
  }

 private:
  detail::Posting* make(detail::Kind kind, int peer, Tag tag) {
    colt::detail::check_peer(Operation::unnamed, rank_, peer, size());
    detail::Posting* p = group_->mailbox(rank_).pool.acquire();
    p->kind = kind;
    p->owner = rank_;
    p->peer = peer;
    p->tag = tag.value;
    return p;
  }

  std::shared_ptr<detail::Group> group_;
  int rank_ = 0;
  std::uint32_t communicator_ = 0;  // CallMark::communicator, from the first enter_call
};

static_assert(colt::Transport<Transport>);
static_assert(ViewTransport<Transport>);
static_assert(SplittableTransport<Transport>);
static_assert(AbortableTransport<Transport>);
static_assert(SlotTransport<Transport>);
static_assert(CallTrackingTransport<Transport>);

// Named as every transport's class is (mpi::Transport, ucx::Transport); InProcess is its name
// from before, kept so that code written against it still compiles.
using InProcess = Transport;

using Communicator = colt::Communicator<Transport>;

namespace detail {

// What became of a launch's threads: each rank's exception (null for a rank that returned), and
// the rank whose failure aborted the group first (-1 when none did).
struct LaunchOutcome {
  std::vector<std::exception_ptr> failures;
  int cause = -1;
};

// Runs fn(Communicator&) on `ranks` threads and joins them. A rank that throws aborts the group,
// so every other rank's pending wait ends in a colt::Error at once.
template <class Fn>
LaunchOutcome run_ranks(int ranks, Fn& fn, const CommunicatorOptions& options) {
  if (ranks < 1)
    throw Error(ErrorKind::invalid_argument, Operation::launch, Error::Rank{0},
                "needs at least one rank, got " + std::to_string(ranks));
  auto group = std::make_shared<Group>(ranks);
  LaunchOutcome outcome{std::vector<std::exception_ptr>(static_cast<std::size_t>(ranks)), -1};
  std::atomic<int> first_failed{-1};
  auto run_rank = [&](int rank) {
    try {
      colt::Communicator<Transport> comm(Transport(group, rank), options);
      fn(comm);
    } catch (...) {
      std::string what = "unknown exception";
      try {
        throw;
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      outcome.failures[static_cast<std::size_t>(rank)] = std::current_exception();
      int none = -1;
      first_failed.compare_exchange_strong(none, rank);
      group->abort("rank " + std::to_string(rank) + " failed: " + what, rank);
    }
    group->liveness().finish(rank);
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(ranks - 1));
  for (int rank = 1; rank < ranks; ++rank) threads.emplace_back(run_rank, rank);
  run_rank(0);
  for (auto& t : threads) t.join();
  int cause = group->abort_rank();
  if (cause < 0 || !outcome.failures[static_cast<std::size_t>(cause)]) cause = first_failed.load();
  outcome.cause = cause;
  return outcome;
}

}  // namespace detail

// Runs fn(Communicator&) on `ranks` threads. If a rank throws, the group is aborted so every
// other rank's pending wait ends in a colt::Error, all threads are joined, and the cause is
// rethrown: the exception of the rank that aborted the group (a failing rank may abort it
// before its exception reaches here, so the others' echoes can arrive first), else the first.
template <class Fn>
void launch(int ranks, Fn&& fn, CommunicatorOptions options = {}) {
  const detail::LaunchOutcome outcome = detail::run_ranks(ranks, fn, options);
  if (outcome.cause >= 0)
    std::rethrow_exception(outcome.failures[static_cast<std::size_t>(outcome.cause)]);
}

// As launch, for programs that survive a lost rank (Communicator::shrink, adapters/elastic.hpp):
// a rank that throws ends its thread only, as a process that dies ends only itself. The group is
// aborted as in launch, so the survivors learn of it at once. Returns each rank's exception
// (null for the ranks that returned), for the caller to judge.
template <class Fn>
std::vector<std::exception_ptr> launch_surviving(int ranks, Fn&& fn,
                                                 CommunicatorOptions options = {}) {
  return detail::run_ranks(ranks, fn, options).failures;
}

}  // namespace colt::inprocess
