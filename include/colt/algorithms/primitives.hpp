#pragma once
// The vocabulary every algorithm is written in: one collective call's context (communicator,
// tag, deadlines) and the chunk primitives send, recv, recv_reduce, as NCCL's device code
// names them. Algorithms read as their textbook loop; these carry the care.
//
// Progress rule that keeps every schedule deadlock-free: sends are posted without blocking and
// kept in a bounded window; a rank blocks on a send only to reuse a window entry, and every
// schedule posts at most a few sends ahead of its receives, fewer than the window holds.

#include <algorithm>
#include <array>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "colt/core/communicator.hpp"
#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/tag.hpp"
#include "colt/core/transport_concepts.hpp"
#include "colt/reduce/host.hpp"
#include "colt/reduce/memory.hpp"

namespace colt::detail {

// Sends in flight, oldest first. Entry i may own scratch memory the caller associates with it;
// reserve() hands out the next entry after waiting for the send that last used it.
template <class Request>
class SendWindow {
 public:
  static constexpr std::size_t capacity = 8;

  SendWindow(Clock::duration timeout, Clock::duration watchdog)
      : timeout_(timeout), watchdog_(watchdog) {}
  SendWindow(const SendWindow&) = delete;
  SendWindow& operator=(const SendWindow&) = delete;
  ~SendWindow() = default;  // pending sends cancel or finish in their destructors

  std::size_t reserve() {
    const std::size_t entry = next_ % capacity;
    if (entries_[entry]) {
      entries_[entry]->wait(fresh_deadline());
      entries_[entry].reset();
    }
    return entry;
  }
  void commit(std::size_t entry, Request&& request) {
    entries_[entry].emplace(std::move(request));
    ++next_;
  }
  void push(Request&& request) { commit(reserve(), std::move(request)); }

  void wait_all() {
    for (std::size_t i = 0; i < capacity; ++i) {
      std::size_t entry = (next_ + i) % capacity;  // oldest first
      if (entries_[entry]) {
        entries_[entry]->wait(fresh_deadline());
        entries_[entry].reset();
      }
    }
  }

 private:
  Deadline fresh_deadline() const { return Deadline::after(timeout_, watchdog_); }
  std::array<std::optional<Request>, capacity> entries_;
  std::size_t next_ = 0;
  Clock::duration timeout_, watchdog_;
};

// One collective call on a communicator: its tag, the memory space of its buffers, and the
// typed primitives. Buffers in device memory are never touched by the host: a device call
// receives through views (the peer's buffer, read by the space's copy or reduce), which is
// why device calls need a transport with views; others stage through host memory first
// (collectives/device.hpp).
template <class Comm, class Memory = HostMemory>
class Call {
 public:
  using transport_type = typename Comm::transport_type;
  using link_type = link_t<transport_type>;
  using request_type = request_t<link_type>;
  using memory_type = Memory;
  static constexpr bool has_views = ViewTransport<link_type>;
  static constexpr bool on_device = Memory::device;
  static_assert(!on_device || has_views, "a call on device memory needs a transport with views");

  Call(Comm& comm, CollectiveKind kind, Memory memory = {})
      : rank_(comm.rank()),
        size_(comm.size()),
        finish_ranks_(comm.size()),
        comm_(comm),
        link_(plumbing(comm).link()),
        kind_(kind),
        tag_(plumbing(comm).next_tag(kind)),
        window_(comm.timeout(), comm.settings().watchdog),
        numbers_(plumbing(comm).message_numbers()),
        memory_(std::move(memory)) {
    std::fill(numbers_.begin(), numbers_.end(), 0u);
  }

  // This rank and the ranks of the call, or of the group it is entered in (below).
  int rank() const { return rank_; }
  int size() const { return size_; }
  // What a reduction's last step divides by (avg): every rank of the call; in a group, what the
  // group was entered with.
  int finish_ranks() const { return finish_ranks_; }

  // From now on the call is seen by a group of its ranks, as if they were all: group rank i is
  // the call's rank members[i], and every primitive takes group ranks. The two-level algorithms
  // (algorithms/hierarchical.hpp) run the flat ones over a node, then a rail, this way, so one
  // instantiation of each serves both levels and the call's tag, window and message numbers
  // carry across them. `finish_ranks`: what the group's last reduction step divides by
  // (`unfinished` leaves partial sums for a later level). This rank is one of `members`.
  void enter_group(std::span<const int> members, int finish_ranks) {
    members_ = members.data();
    size_ = static_cast<int>(members.size());
    finish_ranks_ = finish_ranks;
    rank_ =
        static_cast<int>(std::find(members.begin(), members.end(), comm_.rank()) - members.begin());
  }
  void leave_group() {
    members_ = nullptr;
    rank_ = comm_.rank();
    size_ = finish_ranks_ = comm_.size();
  }
  CollectiveKind kind() const { return kind_; }
  Comm& comm() { return comm_; }
  Deadline deadline() const { return comm_.deadline(); }
  SendWindow<request_type>& window() { return window_; }
  // Request and pointer arrays of the communicator, reused across calls (direct algorithms).
  RequestStore<link_type>& request_store() { return plumbing(comm_).request_store(); }
  Memory& memory() { return memory_; }
  // The transport itself, for what it offers beyond messages (shared slots).
  transport_type& transport() { return link_.inner(); }

  // Every message of a call carries its number among this call's messages between the same two
  // ranks in the same direction (in the tag's step field, modulo 1024), so a receive matches
  // exactly the message meant for it: a lost message is waited for (and ends in the timeout)
  // instead of the next one being taken in its place, and a duplicate is never taken at all.
  // Both sides count in posting order, which every schedule keeps the same on both ends.
  template <class T>
  request_type isend(int peer, std::span<const T> data) {
    const int to = call_rank(peer);
    return link_.isend(to, std::as_bytes(data), next_tag(to, 0));
  }
  template <class T>
  request_type irecv(int peer, std::span<T> data) {
    const int from = call_rank(peer);
    return link_.irecv(from, std::as_writable_bytes(data), next_tag(from, 1));
  }
  auto irecv_view(int peer)
    requires has_views
  {
    const int from = call_rank(peer);
    return link_.irecv_view(from, next_tag(from, 1));
  }

  // Non-blocking send kept in the window until it completes.
  template <class T>
  void send(int peer, std::span<const T> data) {
    window_.push(isend(peer, data));
  }
  template <class T>
  void send(int peer, std::span<T> data) {
    send(peer, std::span<const T>(data));
  }

  // Completes a receive that must deliver exactly `expected` bytes.
  void finish_recv(request_type& request, int peer, std::size_t expected) {
    std::size_t got = request.wait(deadline());
    if (got != expected) size_mismatch(peer, expected, got);
  }

  template <class T>
  void recv(int peer, std::span<T> dst) {
    if constexpr (on_device) {
      auto view = irecv_view(peer);
      copy_from_view(view, peer, dst);
      memory_.wait();
    } else {
      auto request = irecv(peer, dst);
      finish_recv(request, peer, dst.size_bytes());
    }
  }

  // Waits for a view of exactly dst's size and starts copying it into dst (in the memory space:
  // the copy is done after memory().wait(), and the view must be kept until then).
  template <class View, class T>
  void copy_from_view(View& view, int peer, std::span<T> dst) {
    std::span<const std::byte> bytes = view.wait(deadline());
    if (bytes.size() != dst.size_bytes()) size_mismatch(peer, dst.size_bytes(), bytes.size());
    memory_.copy(dst.data(), reinterpret_cast<const T*>(bytes.data()), dst.size());
  }

  // dst = local op (what the peer sends), finished for `ranks` > 0. Reads the peer's memory
  // directly where the transport allows it, else receives into the workspace first.
  template <class T, class Op>
  void recv_reduce(int peer, std::span<T> dst, std::span<const T> local, Op op, int ranks) {
    if constexpr (has_views) {
      auto view = irecv_view(peer);
      std::span<const std::byte> bytes = view.wait(deadline());
      if (bytes.size() != dst.size_bytes()) size_mismatch(peer, dst.size_bytes(), bytes.size());
      reduce_pair(op, dst.data(), local.data(), reinterpret_cast<const T*>(bytes.data()),
                  dst.size(), ranks);
      view.release();
    } else {
      std::span<T> staging = this->staging<T>(dst.size());
      recv(peer, staging);
      reduce_pair(op, dst.data(), local.data(), staging.data(), dst.size(), ranks);
    }
  }

  // Workspace for algorithm-owned buffers, taken once per call before any receive is staged;
  // `staging_bytes` more are kept behind it for recv_reduce on transports without views.
  template <class T>
  std::span<T> scratch(std::size_t count, std::size_t staging_bytes) {
    staging_offset_ = (count * sizeof(T) + 63) / 64 * 64;
    comm_.workspace().reserve(staging_offset_ + staging_bytes);
    return {reinterpret_cast<T*>(comm_.workspace().data()), count};
  }

  // Where a receive lands before it is reduced: the workspace behind any scratch.
  template <class T>
  std::span<T> staging(std::size_t count) {
    Workspace& ws = comm_.workspace();
    if (staging_offset_ + count * sizeof(T) > ws.capacity()) {
      if (staging_offset_ != 0)
        throw Error(ErrorKind::internal, operation_of(kind_), Error::Rank{comm_.rank()},
                    "staging buffer larger than the workspace reserved for it");
      ws.reserve(count * sizeof(T));
    }
    return {reinterpret_cast<T*>(ws.data() + staging_offset_), count};
  }

  [[noreturn]] void size_mismatch(int peer, std::size_t expected, std::size_t got) const {
    throw Error(ErrorKind::mismatch, operation_of(kind_), Error::Rank{comm_.rank()},
                Error::Peer{call_rank(peer)},
                "expected a message of " + std::to_string(expected) + " bytes, received " +
                    std::to_string(got) + " (counts differ between ranks?)");
  }

 private:
  int call_rank(int peer) const { return members_ ? members_[peer] : peer; }

  // The tag of the next message to (direction 0) or from (1) `peer` (a rank of the call).
  Tag next_tag(int peer, int direction) {
    std::uint32_t& n =
        numbers_[2 * static_cast<std::size_t>(peer) + static_cast<std::size_t>(direction)];
    return tag_.with_step(n++);
  }

  int rank_, size_, finish_ranks_;
  const int* members_ = nullptr;  // the group entered, if any (enter_group)
  Comm& comm_;
  link_type& link_;
  CollectiveKind kind_;
  Tag tag_;
  SendWindow<request_type> window_;
  std::span<std::uint32_t> numbers_;
  Memory memory_;
  std::size_t staging_offset_ = 0;
};

}  // namespace colt::detail
