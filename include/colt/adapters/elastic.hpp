#pragma once
// ElasticTraining: a training loop that survives a lost rank, as Horovod's elastic mode and
// torchft do. Every K steps each rank commits the state it tracks (parameters, optimizer state,
// counters) to memory; when a step fails because ranks died, the survivors agree on who failed,
// shrink the communicator (Communicator::shrink), roll back to the newest commit they all hold,
// and go on from there with fewer ranks: the caller's `reset` rebuilds what depends on the
// communicator (DataParallel, the data partition), and the loop redoes the steps since the commit.
//
//   colt::ElasticTraining elastic(comm, {.commit_every = 10});
//   elastic.track(model.parameters());  elastic.track(optimizer.moments());  ...
//   elastic.run(steps,
//       [&](auto& comm, int step) { ... one step: forward, backward, dp.synchronize(), update },
//       [&](auto& comm, int step) { dp.emplace(comm, options); ... });   // also before step 0
//
// Contract:
// - Every step synchronizes every rank (a collective over the communicator, as DataParallel's
//   gradient average is), so no rank is more than one step ahead of another. Each rank keeps its
//   two newest commits; after a failure the survivors take the oldest newest commit among them,
//   which every survivor holds.
// - The tracked state is the same on every rank at a commit (a data-parallel replica), so a
//   rollback needs no messages. Steps must be a function of the step number and the tracked
//   state: data order by step, not by how many steps ran (the loop redoes steps).
// - A rank that the others declared failed (it answered too late) ends with colt::Error
//   (peer_failed), as a process declared dead should; so does the loop after `max_recoveries`.
// - It turns on the communicator's failure identification (Communicator::identify_failures), on
//   a transport that can shrink (in-process, UCX). A failed call on any communicator the step
//   uses (DataParallel's own, say) starts the recovery; the survivors agree over this one. A
//   failure that no lost rank explains (a mismatch, a slow rank) is rethrown.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "colt/collectives/all_reduce.hpp"
#include "colt/core/communicator.hpp"
#include "colt/core/detail/plumbing.hpp"
#include "colt/core/error.hpp"

namespace colt {

struct ElasticOptions {
  int commit_every = 10;   // steps between in-memory commits of the tracked state
  int max_recoveries = 8;  // failures survived before the loop gives up
};

// One failure survived.
struct Recovery {
  std::vector<int> failed;      // the ranks that failed, numbered as in the first communicator
  int failed_at_step = 0;       // the step that failed
  int resumed_at_step = 0;      // the committed step training went back to
  int ranks = 0;                // ranks training afterwards
  std::string cause;            // the error that started the recovery, on this rank
  Clock::time_point noticed{};  // when this rank's failed call returned its error
  Clock::time_point resumed{};  // when the state was restored and `reset` had run
};

template <ShrinkableTransport T>
class ElasticTraining {
 public:
  // `comm` is the first communicator; its successors are owned here. Not collective; every rank
  // makes one.
  explicit ElasticTraining(Communicator<T>& comm, ElasticOptions options = {})
      : options_(options), first_(&comm) {
    if (options_.commit_every < 1)
      throw Error(ErrorKind::invalid_argument, Operation::elastic, Error::Rank{comm.rank()},
                  "commit_every must be at least 1");
    comm.identify_failures();
    for (int r = 0; r < comm.size(); ++r) first_ranks_.push_back(r);
  }

  // State to commit and roll back, of any trivially copyable element type. Spans must stay
  // valid while run() runs. Before run().
  template <class E>
    requires std::is_trivially_copyable_v<E>
  void track(std::span<E> state) {
    tracked_.push_back({std::as_writable_bytes(state)});
  }

  // The communicator training runs on now.
  Communicator<T>& communicator() { return current_ ? *current_ : *first_; }
  // This rank in the first communicator's numbering.
  int first_rank() const { return first_ranks_[static_cast<std::size_t>(rank_now())]; }
  const std::vector<Recovery>& recoveries() const { return recoveries_; }

  // Runs step(comm, s) for s in [0, steps). reset(comm, s) runs before step 0 and after every
  // recovery (with the step training resumes at), on the communicator to use from then on.
  template <class Step, class Reset>
  void run(int steps, Step&& step, Reset&& reset) {
    reset(communicator(), 0);
    commit(0);
    for (int s = 0; s < steps;) {
      try {
        step(communicator(), s);
        ++s;
        if (s % options_.commit_every == 0 || s == steps) commit(s);
      } catch (const Error& e) {
        s = recover(e, s, reset);
      }
    }
  }

 private:
  struct Tracked {
    std::span<std::byte> bytes;
  };
  struct Commit {
    int step = -1;
    std::vector<std::byte> bytes;
  };

  int rank_now() const { return current_ ? current_->rank() : first_->rank(); }

  void commit(int step) {
    Commit& slot = commits_[newest_ == 0 ? 1 : 0];  // overwrite the older of the two
    std::size_t total = 0;
    for (const Tracked& t : tracked_) total += t.bytes.size();
    slot.bytes.resize(total);
    std::size_t at = 0;
    for (const Tracked& t : tracked_) {
      if (!t.bytes.empty()) std::memcpy(slot.bytes.data() + at, t.bytes.data(), t.bytes.size());
      at += t.bytes.size();
    }
    slot.step = step;
    newest_ = newest_ == 0 ? 1 : 0;
  }

  void restore(int step) {
    const Commit* found = nullptr;
    for (const Commit& c : commits_)
      if (c.step == step) found = &c;
    if (!found)
      throw Error(ErrorKind::internal, Operation::elastic, Error::Rank{rank_now()},
                  "no commit of step " + std::to_string(step) +
                      " here: the ranks were more than one commit apart (does every step "
                      "synchronize every rank?)");
    std::size_t at = 0;
    for (const Tracked& t : tracked_) {
      if (!t.bytes.empty()) std::memcpy(t.bytes.data(), found->bytes.data() + at, t.bytes.size());
      at += t.bytes.size();
    }
  }

  // Shrinks until a communicator of the survivors completes the rollback agreement and `reset`;
  // returns the step to go on from. Rethrows `first_error` when no rank failed, or when its kind
  // cannot mean a lost rank (core's one classification, which the communicators' own failure
  // identification uses too): the survivors agree over this loop's communicator whatever
  // communicator the step's failure came from.
  template <class Reset>
  int recover(const Error& first_error, int failed_step, Reset& reset) {
    Recovery recovery;
    recovery.noticed = Clock::now();
    recovery.failed_at_step = failed_step;
    recovery.cause = first_error.what();
    Error error = first_error;
    for (int attempt = 0;; ++attempt) {
      if (!detail::may_mean_lost_rank(error.kind()) ||
          static_cast<int>(recoveries_.size()) + attempt >= options_.max_recoveries)
        throw error;
      Communicator<T>& old = communicator();
      // Throws on a rank the others declared failed: it must leave, as a dead process would.
      auto next = std::make_unique<Communicator<T>>(old.shrink(error));
      const std::vector<int> failed = old.failed_ranks();
      if (failed.empty()) throw error;  // no rank was lost: the failure was something else
      std::vector<int> kept;
      for (int r = 0; r < old.size(); ++r) {
        const int first = first_ranks_[static_cast<std::size_t>(r)];
        (std::binary_search(failed.begin(), failed.end(), r) ? recovery.failed : kept)
            .push_back(first);
      }
      first_ranks_ = std::move(kept);
      current_ = std::move(next);  // `old` is gone from here on
      try {
        const int resume = agreed_commit();
        restore(resume);
        reset(*current_, resume);
        recovery.resumed_at_step = resume;
      } catch (const Error& again) {  // another rank failed while recovering
        error = again;
        continue;
      }
      recovery.ranks = current_->size();
      recovery.resumed = Clock::now();
      std::sort(recovery.failed.begin(), recovery.failed.end());
      recoveries_.push_back(std::move(recovery));
      return recoveries_.back().resumed_at_step;
    }
  }

  // The newest commit every survivor holds: the smallest of their newest.
  int agreed_commit() {
    std::int64_t newest = commits_[newest_].step;
    all_reduce(*current_, std::span(&newest, 1), min{});
    return static_cast<int>(newest);
  }

  ElasticOptions options_;
  Communicator<T>* first_;
  std::unique_ptr<Communicator<T>> current_;
  std::vector<int> first_ranks_;  // rank in the current communicator -> rank in the first
  std::vector<Tracked> tracked_;
  Commit commits_[2];
  int newest_ = 1;  // commits_[newest_] is the newest (the first commit goes to slot 0)
  std::vector<Recovery> recoveries_;
};

}  // namespace colt
