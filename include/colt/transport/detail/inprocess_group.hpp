#pragma once
// The shared state of an in-process group: one mailbox per rank holding the sends addressed to it
// and the receives it posted but nobody matched yet. Whoever arrives second makes the match:
// it copies straight from the sender's buffer into the receiver's (zero intermediate copies), or,
// for a zero-copy receive, hands the receiver a view of the sender's buffer.
//
// Postings live in per-rank pools that only grow, so steady-state traffic allocates nothing and
// a peer may still touch a posting's state word (to wake its owner) after the owner moved on.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/detail/left_call.hpp"
#include "colt/core/tag.hpp"
#include "colt/transport/detail/futex.hpp"
#include "colt/transport/detail/inprocess_board.hpp"
#include "colt/transport/detail/inprocess_slots.hpp"

namespace colt::inprocess::detail {

// State word of a posting. `matched` is set under the mailbox lock when the posting leaves the
// mailbox; `done` when its data moved (or, for a send read through a view, when the view was
// released); `sleeping` when its owner blocks on the futex and needs a wake.
inline constexpr std::uint32_t done = 1, matched = 2, sleeping = 4;

enum class Kind : std::uint8_t { send, receive, receive_view };
enum class Status : std::uint8_t { ok, truncated };

struct Posting {
  Kind kind = Kind::send;
  Status status = Status::ok;
  int owner = 0;  // rank that posted it
  int peer = 0;   // the other side
  std::uint32_t tag = 0;
  const std::byte* send_data = nullptr;
  std::byte* receive_data = nullptr;
  std::size_t size = 0;         // send: message bytes; receive: capacity
  std::size_t transferred = 0;  // receive: bytes delivered
  Posting* view_of = nullptr;   // receive_view: the send it reads
  std::atomic<std::uint32_t> state{0};
  Posting* next = nullptr;  // mailbox list or pool free list
  Posting* prev = nullptr;

  void complete() {
    if (state.fetch_or(done, std::memory_order_acq_rel) & sleeping)
      colt::detail::futex_wake_all(state);
  }
};

// Intrusive FIFO list: matching walks from the head, so equal tags are matched in posting order.
struct PostingList {
  Posting* head = nullptr;
  Posting* tail = nullptr;

  void push_back(Posting* p) {
    p->next = nullptr;
    p->prev = tail;
    (tail ? tail->next : head) = p;
    tail = p;
  }
  void unlink(Posting* p) {
    (p->prev ? p->prev->next : head) = p->next;
    (p->next ? p->next->prev : tail) = p->prev;
    p->next = p->prev = nullptr;
  }
  template <class Match>
  Posting* take_first(Match&& match) {
    for (Posting* p = head; p; p = p->next) {
      if (match(*p)) {
        unlink(p);
        p->state.fetch_or(matched, std::memory_order_acq_rel);
        return p;
      }
    }
    return nullptr;
  }
};

class PostingPool {
 public:
  Posting* acquire() {
    std::lock_guard lock(mutex_);
    if (!free_) grow();
    Posting* p = free_;
    free_ = p->next;
    p->next = p->prev = nullptr;
    p->status = Status::ok;
    p->transferred = 0;
    p->view_of = nullptr;
    p->state.store(0, std::memory_order_relaxed);
    return p;
  }
  void release(Posting* p) {
    std::lock_guard lock(mutex_);
    p->next = free_;
    free_ = p;
  }

 private:
  void grow() {
    constexpr std::size_t block = 64;
    blocks_.push_back(std::make_unique<Posting[]>(block));
    for (std::size_t i = 0; i < block; ++i) {
      blocks_.back()[i].next = free_;
      free_ = &blocks_.back()[i];
    }
  }
  std::mutex mutex_;
  Posting* free_ = nullptr;
  std::vector<std::unique_ptr<Posting[]>> blocks_;
};

struct Mailbox {
  std::mutex mutex;
  PostingList sends;     // addressed to this rank, not yet received
  PostingList receives;  // posted by this rank, not yet matched
  PostingPool pool;      // postings owned by this rank
};

// The numbered call a rank began last, as a CallMark packed in 64 bits (0 before any): written
// by the rank as each call begins, read only by a peer whose wait on it is slow. A line of its
// own, apart from the mailbox that peers lock, so the write costs the rank no hand-off.
struct alignas(64) CallWord {
  std::atomic<std::uint64_t> current{0};
  // Communicators this rank has begun calls on over this group (CallMark::communicator).
  std::atomic<std::uint32_t> communicators{0};
};

// A numbered call a rank began: its tag, and which of the rank's communicators over the group
// it is on. Two communicators may share a group (one made over another's transport, to use other
// options), each numbering its calls from 0; only calls of the same communicator compare, which
// ranks that make their communicators in the same order number alike.
struct CallMark {
  std::uint32_t communicator = 0;  // from 1; 0: no call yet
  Tag call{};
};

// Which threads of a launch have returned (or died by an exception), by their rank in the launch.
// Every group split or shrunk from the launch's group shares it, so a wait on a peer that is
// gone ends at once in any of them.
class Liveness {
 public:
  explicit Liveness(int ranks) : finished_(static_cast<std::size_t>(ranks)) {}
  void finish(int launch_rank) {
    finished_[static_cast<std::size_t>(launch_rank)].store(true, std::memory_order_release);
  }
  bool finished(int launch_rank) const {
    return finished_[static_cast<std::size_t>(launch_rank)].load(std::memory_order_acquire);
  }

 private:
  std::vector<std::atomic<bool>> finished_;
};

class Group {
 public:
  // A launch's group of `size` ranks.
  explicit Group(int size) : Group(std::make_shared<Liveness>(size), identity(size)) {}
  // A group of some of a launch's threads: launch_ranks[r] is rank r's rank in the launch.
  Group(std::shared_ptr<Liveness> liveness, std::vector<int> launch_ranks)
      : mailboxes_(launch_ranks.size()),
        call_words_(std::make_unique<CallWord[]>(launch_ranks.size())),
        spin_iterations_(spin_budget(static_cast<int>(launch_ranks.size()))),
        yield_iterations_(oversubscribed(static_cast<int>(launch_ranks.size())) ? 256 : 1),
        liveness_(std::move(liveness)),
        launch_ranks_(std::move(launch_ranks)) {
    for (auto& box : mailboxes_) box = std::make_unique<Mailbox>();
  }

  // How long a waiter polls before it sleeps. With a core per rank the peer is running and
  // answers within microseconds, cheaper than a futex wake (tens of microseconds on a VM); with
  // more ranks than cores the peer may need this very core, so a waiter yields almost at once.
  int spin_iterations() const { return spin_iterations_; }
  static int spin_budget(int ranks) { return oversubscribed(ranks) ? 1 << 6 : 1 << 14; }
  // How many times a waiter on the shared slots yields its core before it sleeps: with more ranks
  // than cores, the ranks it waits for are runnable and need a core, and a yield hands it over in
  // about a microsecond where a futex wake costs tens.
  int yield_iterations() const { return yield_iterations_; }
  static bool oversubscribed(int ranks) {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores == 0 || static_cast<unsigned>(ranks) > cores;
  }

  int size() const { return static_cast<int>(mailboxes_.size()); }
  Mailbox& mailbox(int rank) { return *mailboxes_[static_cast<std::size_t>(rank)]; }

  // The numbered call `rank` began last; acquire, so what it did before it began the call (a
  // match, a posting of its slot) is visible after.
  CallMark call_of(int rank) const {
    const std::uint64_t packed =
        call_words_[static_cast<std::size_t>(rank)].current.load(std::memory_order_acquire);
    return {static_cast<std::uint32_t>(packed >> 32), Tag{static_cast<std::uint32_t>(packed)}};
  }
  void enter_call(int rank, CallMark mark) {
    call_words_[static_cast<std::size_t>(rank)].current.store(
        std::uint64_t{mark.communicator} << 32 | mark.call.value, std::memory_order_release);
  }
  // A number for a communicator over this group that `rank` begins calls on (CallMark).
  std::uint32_t next_communicator(int rank) {
    return call_words_[static_cast<std::size_t>(rank)].communicators.fetch_add(1) + 1;
  }
  // The call `peer` began last when it means the peer can never take part in `rank`'s call
  // `mine` (core/detail/left_call.hpp), judged only when both are on the same communicator;
  // nothing while it may. Allocates nothing (left_call's text explains a confirmed one).
  std::optional<Tag> left_call(int rank, Tag mine, int peer) const {
    const CallMark own = call_of(rank), theirs = call_of(peer);
    if (own.communicator == 0 || own.communicator != theirs.communicator) return std::nullopt;
    if (!colt::detail::left(mine, theirs.call)) return std::nullopt;
    return theirs.call;
  }

  // Whether rank's thread has returned from the launch's function (or died in it).
  bool finished(int rank) const { return liveness_->finished(launch_rank(rank)); }
  int launch_rank(int rank) const { return launch_ranks_[static_cast<std::size_t>(rank)]; }
  // The launch's record of finished threads (launch marks them).
  Liveness& liveness() { return *liveness_; }

  // The notice board of this group's failure agreement (inprocess_board.hpp): messages there
  // outlive an abort, which is what the survivors agree over after one. Made on first use, so
  // that programs that never agree never compile it.
  Board& board() {
    std::call_once(board_made_, [this] { board_ = std::make_shared<Board>(); });
    return *board_;
  }

  // The group's shared slots (inprocess_slots.hpp), made on first use.
  Slots& slots() {
    std::call_once(slots_made_, [this] { slots_ = std::make_unique<Slots>(size()); });
    return *slots_;
  }

  // Post a send from `owner` to `peer`, or complete a receive already waiting for it.
  void post_send(Posting* send) {
    Mailbox& box = mailbox(send->peer);
    std::unique_lock lock(box.mutex);
    Posting* receive = box.receives.take_first(
        [&](const Posting& r) { return r.peer == send->owner && r.tag == send->tag; });
    if (!receive) {
      box.sends.push_back(send);
      return;
    }
    lock.unlock();
    send->state.fetch_or(matched, std::memory_order_acq_rel);
    deliver(send, receive);
  }

  // Post a receive (copying or view), or take a send already waiting for it.
  void post_receive(Posting* receive) {
    Mailbox& box = mailbox(receive->owner);
    std::unique_lock lock(box.mutex);
    Posting* send = box.sends.take_first(
        [&](const Posting& s) { return s.owner == receive->peer && s.tag == receive->tag; });
    if (!send) {
      box.receives.push_back(receive);
      return;
    }
    lock.unlock();
    receive->state.fetch_or(matched, std::memory_order_acq_rel);
    deliver(send, receive);
  }

  // Take a still-unmatched posting back out of its mailbox. False if a peer already matched it
  // (the transfer is then in progress and completes on its own).
  bool cancel(Posting* p) {
    Mailbox& box = mailbox(p->kind == Kind::send ? p->peer : p->owner);
    std::lock_guard lock(box.mutex);
    if (p->state.load(std::memory_order_acquire) & matched) return false;
    (p->kind == Kind::send ? box.sends : box.receives).unlink(p);
    return true;
  }

  // The first abort wins; `rank` is the rank whose failure caused it. Every group split from
  // this one is aborted too: its members' threads may wait on a rank that is gone (a helper
  // thread driving a `dup`, say), and nothing else would end that wait before the deadline.
  void abort(std::string cause, int rank) {
    {
      std::lock_guard lock(abort_mutex_);
      if (aborted_.load()) return;
      abort_cause_ = std::move(cause);
      abort_rank_ = rank;
      aborted_.store(true);
    }
    std::vector<std::shared_ptr<Group>> children;
    {
      std::lock_guard lock(subgroups_mutex_);
      for (auto& weak : children_)
        if (auto child = weak.lock()) children.push_back(std::move(child));
    }
    for (auto& child : children) child->abort(abort_cause(), rank);
  }
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  int abort_rank() const {
    std::lock_guard lock(abort_mutex_);
    return abort_rank_;
  }
  std::string abort_cause() const {
    std::lock_guard lock(abort_mutex_);
    return abort_cause_;
  }

  // A sub-group being formed by `split` or `without`: the first member to arrive creates it, the
  // others find it under the same key; the entry is dropped when the last member has taken it.
  // `members` are the new group's ranks in this group. A split is this group's child (aborted
  // with it); a successor (`child` false: the survivors of a failure) lives on after this group
  // was aborted.
  std::shared_ptr<Group> join_subgroup(std::uint64_t key, std::span<const int> members,
                                       bool child = true) {
    std::lock_guard lock(subgroups_mutex_);
    const int count = static_cast<int>(members.size());
    auto [entry, created] = subgroups_.try_emplace(key, nullptr, count);
    if (created) {
      std::vector<int> launch_ranks;
      for (const int r : members) launch_ranks.push_back(launch_rank(r));
      entry->second.first = std::make_shared<Group>(liveness_, std::move(launch_ranks));
      if (child) {
        std::erase_if(children_, [](const std::weak_ptr<Group>& w) { return w.expired(); });
        children_.push_back(entry->second.first);
      }
    }
    auto group = entry->second.first;
    if (created && child && aborted()) group->abort(abort_cause(), abort_rank());
    if (--entry->second.second == 0) subgroups_.erase(entry);
    return group;
  }

 private:
  static void deliver(Posting* send, Posting* receive) {
    if (receive->kind == Kind::receive_view) {
      receive->view_of = send;  // the send completes when the view is released
      receive->complete();
      return;
    }
    if (send->size > receive->size) {
      receive->status = Status::truncated;
      receive->transferred = send->size;
    } else {
      if (send->size) std::memcpy(receive->receive_data, send->send_data, send->size);
      receive->transferred = send->size;
    }
    send->complete();
    receive->complete();
  }

  static std::vector<int> identity(int size) {
    std::vector<int> ranks(static_cast<std::size_t>(size));
    for (int r = 0; r < size; ++r) ranks[static_cast<std::size_t>(r)] = r;
    return ranks;
  }

  std::vector<std::unique_ptr<Mailbox>> mailboxes_;
  std::unique_ptr<CallWord[]> call_words_;  // one per rank
  int spin_iterations_;
  int yield_iterations_;  // both fixed at construction: hardware_concurrency() is a system call
  std::shared_ptr<Liveness> liveness_;
  std::vector<int> launch_ranks_;  // rank in this group -> rank in the launch
  std::once_flag board_made_;
  std::shared_ptr<Board> board_;  // shared: its destructor is compiled where it is made
  std::once_flag slots_made_;
  std::unique_ptr<Slots> slots_;
  std::atomic<bool> aborted_{false};
  mutable std::mutex abort_mutex_;
  std::string abort_cause_;
  int abort_rank_ = -1;
  std::mutex subgroups_mutex_;
  std::map<std::uint64_t, std::pair<std::shared_ptr<Group>, int>> subgroups_;
  std::vector<std::weak_ptr<Group>> children_;  // groups split from this one, to abort with it
};

}  // namespace colt::inprocess::detail
