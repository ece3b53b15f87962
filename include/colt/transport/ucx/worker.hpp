#pragma once
// colt::ucx::Worker: one rank's UCP worker and its endpoints to every peer of the bootstrap
// group. Every communicator split from the bootstrapped one shares it (their messages differ in
// the wire tag's context id), so a rank drives exactly one worker from one thread.
//
// Failure handling:
//  - Endpoints are created in peer error-handling mode: a peer that dies or resets the connection
//    calls `on_peer_error`, which records UCX's status. Requests to it complete with that status,
//    and a receive waiting on it asks `peer_status` and ends with a colt::Error.
//  - `abort(cause, context)` sends a short notice to every peer on a channel of its own
//    (wire_tag.hpp) naming the communicator; every rank's waits on that communicator (or one
//    split from it) poll for notices, so one failed rank ends the others' waits at once instead
//    of at their deadline, in one process or across many.
//
// Shutdown never needs the peers: flush what this rank sent (so it reaches the peers), close
// every endpoint without a handshake (UCP_EP_CLOSE_FLAG_FORCE, allowed because both sides use
// peer error handling), destroy the worker. Ranks may leave in any order.

#include "colt/transport/ucx/ucp_h.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/transport/ucx/check.hpp"
#include "colt/transport/ucx/context.hpp"
#include "colt/transport/ucx/wire_tag.hpp"

namespace colt::ucx {

class Worker {
 public:
  // `rank` of `size`: this rank's place in the bootstrap group.
  // `peer_errors`: endpoints in UCX's peer error-handling mode (see ucx.hpp's Options).
  Worker(int rank, int size, Clock::duration shutdown_budget, bool peer_errors = true)
      : context_(Context::shared(rank)),
        rank_(rank),
        size_(size),
        links_(new Link[static_cast<std::size_t>(size)]),
        shutdown_budget_(shutdown_budget),
        peer_errors_(peer_errors) {
    if (size > max_ranks)
      throw Error(ErrorKind::invalid_argument, Operation::ucx_bootstrap, Error::Rank{rank},
                  "at most " + std::to_string(max_ranks) + " ranks, got " + std::to_string(size));
    ucp_worker_params_t params{};
    params.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
    // Serialized: one thread at a time, not always the same one. A communicator's progress
    // engine runs its started calls on a thread of its own, handed over through its queue.
    params.thread_mode = UCS_THREAD_MODE_SERIALIZED;
    check(ucp_worker_create(context_->native(), &params, &worker_), rank, no_peer,
          "ucp_worker_create");
    if (ucp_worker_get_efd(worker_, &event_fd_) != UCS_OK) event_fd_ = -1;  // then waits yield
    for (int peer = 0; peer < size; ++peer)
      links_[static_cast<std::size_t>(peer)] = Link{this, peer};
  }

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker() { shut_down(); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  ucp_worker_h native() const { return worker_; }

  // This worker's address, as the peers' `connect` wants it.
  std::vector<std::byte> address() const {
    ucp_address_t* address = nullptr;
    std::size_t length = 0;
    check(ucp_worker_get_address(worker_, &address, &length), rank_, no_peer,
          "ucp_worker_get_address");
    const auto* bytes = reinterpret_cast<const std::byte*>(address);
    std::vector<std::byte> copy(bytes, bytes + length);
    ucp_worker_release_address(worker_, address);
    return copy;
  }

  // Endpoints to every other rank; addresses[r] is rank r's `address()`.
  void connect(std::span<const std::vector<std::byte>> addresses) {
    for (int peer = 0; peer < size_; ++peer) {
      if (peer == rank_) continue;
      Link& link = links_[static_cast<std::size_t>(peer)];
      ucp_ep_params_t params{};
      params.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                          UCP_EP_PARAM_FIELD_ERR_HANDLER;
      params.address =
          reinterpret_cast<const ucp_address_t*>(addresses[static_cast<std::size_t>(peer)].data());
      params.err_mode = peer_errors_ ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
      params.err_handler.cb = &Worker::on_peer_error;
      params.err_handler.arg = &link;
      check(ucp_ep_create(worker_, &params, &link.endpoint), rank_, peer, "ucp_ep_create");
    }
  }

  ucp_ep_h endpoint(int peer) const { return links_[static_cast<std::size_t>(peer)].endpoint; }
  // UCS_OK while the endpoint to `peer` works; else what UCX reported when it failed.
  ucs_status_t peer_status(int peer) const { return links_[static_cast<std::size_t>(peer)].status; }

  unsigned progress() { return ucp_worker_progress(worker_); }

  // Called by a wait that found nothing to do: sleeps until the worker has an event (a message
  // arrived, a send completed) or `most` has passed, whichever is first. Without an event
  // descriptor it only yields the core.
  void idle(Clock::duration most) {
    if (event_fd_ < 0 || ucp_worker_arm(worker_) != UCS_OK) {  // UCS_ERR_BUSY: events pending
      std::this_thread::yield();
      return;
    }
    pollfd ready{event_fd_, POLLIN, 0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(most).count();
    ::poll(&ready, 1, static_cast<int>(std::max<long long>(ms, 1)));
  }

  // Context ids for communicators split from this worker's: each split proposes the lowest id
  // this rank has never used, the group takes the highest proposal, so the id is unused by every
  // member (ranks of other groups may reuse it: they never exchange messages with this group).
  std::uint32_t unused_context() const { return next_context_; }
  void claim_context(std::uint32_t id) {
    if (id > max_context)
      throw Error(
          ErrorKind::invalid_argument, Operation::split, Error::Rank{rank_},
          "more than " + std::to_string(max_context) + " communicators split from one UCX worker");
    next_context_ = std::max(next_context_, id + 1);
  }

  // A collective on one of this worker's communicators failed: its peers may be out of step, so
  // shutdown does not wait to flush to them.
  void note_failure() noexcept { failed_ = true; }

  // Communicator `child` was split from `parent` (context ids): aborting the parent aborts it.
  void set_parent(std::uint32_t child, std::uint32_t parent) { parents_[child] = parent; }

  // Ends every pending and later wait on communicator `context` (and on those split from it) of
  // every rank of the bootstrap group with a colt::Error naming `cause` (best effort: peers
  // already gone are skipped). The communicators of the survivors of a failure (`without`) are
  // no descendants: they go on.
  void abort(const std::string& cause, std::uint32_t context = 0) noexcept {
    if (aborted_.count(context)) return;
    try {
      aborted_[context] = "rank " + std::to_string(rank_) + " aborted: " + cause;
      notices_text_.push_back(std::make_unique<std::string>(cause.substr(0, 1024)));
      const std::string& notice = *notices_text_.back();
      failed_ = true;
      for (int peer = 0; peer < size_; ++peer) {
        if (peer == rank_ || !endpoint(peer) || peer_status(peer) != UCS_OK) continue;
        ucp_request_param_t param{};
        ucs_status_ptr_t sent = ucp_tag_send_nbx(endpoint(peer), notice.data(), notice.size(),
                                                 abort_tag(rank_, context), &param);
        if (UCS_PTR_IS_PTR(sent)) notices_.push_back(sent);
      }
    } catch (...) {  // out of memory while aborting: the peers fall back to their deadlines
    }
  }

  // Why communicator `context` was aborted (or one it was split from), or empty. Reads the
  // peers' notices that have arrived (a cheap probe).
  const std::string& abort_cause(std::uint32_t context = 0) {
    if (size_ > 1) read_notices();
    for (std::uint32_t c = context;;) {
      if (auto found = aborted_.find(c); found != aborted_.end()) return found->second;
      auto up = parents_.find(c);
      if (up == parents_.end()) return no_cause_;
      c = up->second;
    }
  }

 private:
  void read_notices() {
    for (;;) {
      ucp_tag_recv_info_t info{};
      ucp_tag_message_h message = ucp_tag_probe_nb(worker_, abort_tag(0), abort_mask, 1, &info);
      if (!message) return;
      std::string text(info.length, '\0');
      ucp_request_param_t param{};
      ucs_status_ptr_t received =
          ucp_tag_msg_recv_nbx(worker_, text.data(), text.size(), message, &param);
      if (UCS_PTR_IS_PTR(received)) {
        while (ucp_request_check_status(received) == UCS_INPROGRESS) progress();
        ucp_request_free(received);
      }
      aborted_.try_emplace(
          aborted_context_of(info.sender_tag),
          "rank " + std::to_string(sender_of(info.sender_tag)) + " aborted: " + text);
      failed_ = true;
    }
  }

  struct Link {
    Worker* owner = nullptr;
    int peer = -1;
    ucp_ep_h endpoint = nullptr;
    ucs_status_t status = UCS_OK;
  };

  // Called by UCX (inside ucp_worker_progress) when the connection to a peer fails.
  static void on_peer_error(void* arg, ucp_ep_h, ucs_status_t status) {
    auto* link = static_cast<Link*>(arg);
    link->status = status;
    link->owner->failed_ = true;
  }

  // Runs `operation`'s request to completion, or gives up at `give_up` (then frees it anyway:
  // UCX releases a request freed before completion when it completes or the worker goes).
  void finish(ucs_status_ptr_t request, Clock::time_point give_up) {
    if (!UCS_PTR_IS_PTR(request)) return;
    while (ucp_request_check_status(request) == UCS_INPROGRESS && Clock::now() < give_up) {
      if (progress() == 0) std::this_thread::yield();
    }
    ucp_request_free(request);
  }

  // Receives and drops one message nobody will read (a failed call's leftovers, abort notices);
  // false when there is none. UCX warns about each message still unread when the worker goes.
  bool discard_one_unread(std::vector<std::byte>& scratch, Clock::time_point give_up) {
    ucp_tag_recv_info_t info{};
    ucp_tag_message_h message = ucp_tag_probe_nb(worker_, 0, 0, 1, &info);  // mask 0: any tag
    if (!message) return false;
    scratch.resize(info.length);
    ucp_request_param_t param{};
    finish(ucp_tag_msg_recv_nbx(worker_, scratch.data(), scratch.size(), message, &param), give_up);
    return true;
  }

  // Progresses the worker, dropping what arrives unread, until nothing has moved for 10 rounds
  // (or `give_up`): what peers still send, and the completions of requests that a forced close
  // cancelled, which run in callbacks only progress runs (UCX warns at the worker's destruction
  // about each request not returned, and each message not read).
  void settle(Clock::time_point give_up) noexcept {
    try {
      std::vector<std::byte> scratch;
      for (int quiet = 0; quiet < 10 && Clock::now() < give_up;) {
        const bool moved = progress() != 0;
        const bool dropped = discard_one_unread(scratch, give_up);
        quiet = moved || dropped ? 0 : quiet + 1;
      }
    } catch (...) {  // out of memory: UCX frees them with the worker, and says so
    }
  }

  void shut_down() noexcept {
    if (!worker_) return;
    // Flush first, so what this rank sent last reaches its peers before the endpoints go. After a
    // failure, a peer may never read again: give it only a moment.
    const auto flush_budget = failed_ ? std::chrono::milliseconds(200) : shutdown_budget_;
    ucp_request_param_t flush{};
    finish(ucp_worker_flush_nbx(worker_, &flush), Clock::now() + flush_budget);
    for (void* notice : notices_) ucp_request_free(notice);
    notices_.clear();
    settle(Clock::now() + std::chrono::milliseconds(200));
    ucp_request_param_t close{};
    close.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    close.flags =
        peer_errors_ ? UCP_EP_CLOSE_FLAG_FORCE : 0;  // force needs peer mode on both sides
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    for (int peer = 0; peer < size_; ++peer) {
      Link& link = links_[static_cast<std::size_t>(peer)];
      if (!link.endpoint) continue;
      finish(ucp_ep_close_nbx(link.endpoint, &close), give_up);
      link.endpoint = nullptr;
    }
    // A forced close returns at once but completes the requests still pending to the peer (a
    // rendezvous send that a stopped peer never answered) in callbacks.
    settle(Clock::now() + std::chrono::milliseconds(100));
    ucp_worker_destroy(worker_);
    worker_ = nullptr;
  }

  std::shared_ptr<Context> context_;  // outlives the worker (destroyed after it)
  ucp_worker_h worker_ = nullptr;
  int event_fd_ = -1;
  int rank_ = 0;
  int size_ = 1;
  std::unique_ptr<Link[]> links_;  // fixed addresses: each is its endpoint's error-handler argument
  Clock::duration shutdown_budget_;
  bool peer_errors_ = true;
  std::uint32_t next_context_ = 1;  // 0 is the bootstrapped communicator
  bool failed_ = false;
  std::map<std::uint32_t, std::string> aborted_;    // context id -> why it was aborted
  std::map<std::uint32_t, std::uint32_t> parents_;  // context id -> the one it was split from
  const std::string no_cause_;
  std::vector<std::unique_ptr<std::string>> notices_text_;  // sent from here: kept until shutdown
  std::vector<void*> notices_;                              // abort notices still in flight
};

}  // namespace colt::ucx
