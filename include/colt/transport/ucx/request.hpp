#pragma once
// A pending UCP tag send or receive as a colt request. `wait` drives the worker's progress engine
// until the request completes, a peer's abort notice arrives, the peer's endpoint fails, or the
// deadline passes; each of the last three ends in a colt::Error naming the peer, so nothing hangs.
//
// UCX allocates the request (or completes the operation at once and returns no request); colt
// polls it and frees it, so no callback runs inside colt's code.

#include "colt/transport/ucx/ucp_h.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/detail/describe_message.hpp"
#include "colt/transport/ucx/check.hpp"
#include "colt/transport/ucx/worker.hpp"

namespace colt::ucx {

class Request {
 public:
  // How long a wait spins with nothing arriving before it sleeps, and the longest sleep (a
  // peer's failure raises no event, so a sleeping wait still looks at it this often).
  static constexpr auto spin_before_sleep = std::chrono::microseconds(50);
  static constexpr auto max_sleep = std::chrono::milliseconds(1);

  enum class Kind : unsigned char { send, receive };

  Request() = default;
  // `rank` and `peer` are ranks of the communicator (for messages); `link` is the peer's rank in
  // the worker's bootstrap group. `started` is what ucp_tag_send_nbx / ucp_tag_recv_nbx returned:
  // a request, an error, or (sends only) null for a send that completed at once. An abort of
  // communicator `context` ends the wait, unless `revocable` is false (the recovery channel).
  Request(Worker& worker, Kind kind, ucs_status_ptr_t started, int rank, int peer, int link,
          Tag tag, std::size_t bytes, std::uint32_t context, bool revocable = true)
      : worker_(&worker),
        kind_(kind),
        rank_(rank),
        peer_(peer),
        link_(link),
        tag_(tag),
        expected_(bytes),
        transferred_(kind == Kind::send ? bytes : 0),
        context_(context),
        revocable_(revocable) {
    if (UCS_PTR_IS_ERR(started)) raise(UCS_PTR_STATUS(started));
    pending_ = started;
  }

  Request(Request&& other) noexcept { *this = std::move(other); }
  Request& operator=(Request&& other) noexcept {
    if (this != &other) {
      cancel();
      worker_ = other.worker_;
      kind_ = other.kind_;
      rank_ = other.rank_;
      peer_ = other.peer_;
      link_ = other.link_;
      tag_ = other.tag_;
      expected_ = other.expected_;
      transferred_ = other.transferred_;
      context_ = other.context_;
      revocable_ = other.revocable_;
      pending_ = std::exchange(other.pending_, nullptr);
    }
    return *this;
  }
  ~Request() { cancel(); }

  // True once complete (after one turn of the progress engine). Throws colt::Error on failure,
  // and where a wait would fail at once (an abort, a failed peer): a poller learns of it as a
  // waiter does.
  bool test() {
    if (!pending_) return true;
    worker_->progress();
    if (poll()) return true;
    check_still_possible(Deadline{Clock::time_point::max(), Clock::duration::zero()});
    return false;
  }

  // Bytes sent, or received (which may be fewer than the buffer holds).
  std::size_t wait(const Deadline& deadline) {
    if (!pending_) return transferred_;
    // Spin while messages flow (latency), then sleep on the worker's events once nothing has
    // moved for a while, so ranks that outnumber the cores leave them to the ranks with work.
    auto quiet_since = Clock::now();
    for (unsigned i = 0;; ++i) {
      const unsigned events = worker_->progress();
      if (poll()) return transferred_;
      if (events != 0) quiet_since = Clock::now();
      if ((i & 63) == 63) {
        check_still_possible(deadline);
        if (deadline.warning_due()) warn_still_waiting(deadline, rank_, peer_, describe());
        if (events == 0 && Clock::now() - quiet_since > spin_before_sleep)
          worker_->idle(std::min<Clock::duration>(deadline.at - Clock::now(), max_sleep));
      }
    }
  }

 private:
  bool poll() {
    ucs_status_t status;
    if (kind_ == Kind::receive) {
      ucp_tag_recv_info_t info{};
      status = ucp_tag_recv_request_test(pending_, &info);
      if (status != UCS_INPROGRESS) transferred_ = info.length;
    } else {
      status = ucp_request_check_status(pending_);
    }
    if (status == UCS_INPROGRESS) return false;
    ucp_request_free(std::exchange(pending_, nullptr));
    if (status != UCS_OK) raise(status);
    return true;
  }

  // Throws when the request can no longer complete: the group was aborted, the peer's endpoint
  // failed, or the deadline passed.
  void check_still_possible(const Deadline& deadline) {
    if (const std::string& cause = worker_->abort_cause(context_); revocable_ && !cause.empty())
      throw Error(ErrorKind::aborted, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                  "aborted while " + describe() + ": " + cause);
    if (const ucs_status_t status = worker_->peer_status(link_); status != UCS_OK)
      throw Error(ErrorKind::peer_failed, Operation::unnamed, Error::Rank{rank_},
                  Error::Peer{peer_},
                  "peer failed while " + describe() + ": " + status_text(status));
    if (deadline.passed())
      throw Error(ErrorKind::timeout, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                  "timed out after " + deadline.budget_text() + " " + describe() +
                      " (peer dead, or not making the same calls?)");
  }

  [[noreturn]] void raise(ucs_status_t status) const {
    if (status == UCS_ERR_MESSAGE_TRUNCATED)
      throw Error(ErrorKind::mismatch, Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                  "message larger than the receive buffer of " + std::to_string(expected_) +
                      " bytes while " + describe() +
                      " (mismatched counts on the ranks?; UCX: " + status_text(status) + ")");
    throw Error(kind_of(status), Operation::unnamed, Error::Rank{rank_}, Error::Peer{peer_},
                "UCX failed " + describe() + ": " + status_text(status));
  }

  std::string describe() const {
    return colt::detail::describe_message(kind_ == Kind::send, peer_, tag_);
  }

  // Destroying a pending request cancels it (an error path: some wait already threw). A
  // cancelled receive completes at once; a send may already be on the wire, and UCX finishes it
  // in the background once freed.
  void cancel() noexcept {
    if (!pending_) return;
    ucp_request_cancel(worker_->native(), pending_);
    const auto give_up = Clock::now() + std::chrono::milliseconds(50);
    while (ucp_request_check_status(pending_) == UCS_INPROGRESS && Clock::now() < give_up)
      worker_->progress();
    ucp_request_free(std::exchange(pending_, nullptr));
  }

  Worker* worker_ = nullptr;
  Kind kind_ = Kind::send;
  int rank_ = 0;
  int peer_ = 0;
  int link_ = 0;
  Tag tag_{};
  std::size_t expected_ = 0;
  std::size_t transferred_ = 0;
  std::uint32_t context_ = 0;
  bool revocable_ = true;
  void* pending_ = nullptr;
};

}  // namespace colt::ucx
