#pragma once
// A communicator's progress engine: one thread that runs the communicator's started
// (non-blocking) calls in start order, so they complete while the caller computes (strong
// progress, as NCCL's proxy thread and MPI implementations' asynchronous progress threads give).
// It is created by the first non-blocking call on a communicator, sleeps while it has nothing to
// do, and is joined when the communicator goes.
//
// Two kinds of work:
// - Tasks (collectives) run to completion, one after another in start order. Every rank starts
//   its calls in the same order, as with blocking calls, so the engine on each rank takes the
//   same tags in the same sequence: the calls match across ranks without any extra tag.
// - Posted messages (isend, irecv) are posted by a task that returns at once and leaves a poll
//   behind; the engine polls them between tasks, backing off from 20 us to 1 ms while none
//   finishes, until each is done. So a rank may start a receive before the send it waits for.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace colt::detail {

// True on a progress engine's thread: a call running there was started (or queued behind started
// calls), which the flight recorder notes.
inline thread_local bool on_progress_thread = false;

class ProgressEngine {
 public:
  // A task never throws: it records its outcome in its request's state.
  using Task = std::function<void()>;
  // True once the posted message is done (its outcome recorded); never throws.
  using Poll = std::function<bool()>;

  ProgressEngine() {
    thread_ = std::thread([this] { run(); });
  }
  ProgressEngine(const ProgressEngine&) = delete;
  ProgressEngine& operator=(const ProgressEngine&) = delete;
  // Runs what is queued and finishes what is posted (each has a deadline), then ends the thread.
  ~ProgressEngine() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    thread_.join();
  }

  void submit(Task task) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(task));
    }
    work_.notify_all();
  }

  // From a task only (the engine's thread): polls `poll` until it says done.
  void watch(Poll poll) {
    pending_.fetch_add(1, std::memory_order_relaxed);
    polls_.push_back(std::move(poll));
  }

  // Nothing queued, running or posted. Only the thread that submits asks, so once idle the
  // engine stays idle until that thread submits again; acquire pairs with the release at the end
  // of each piece of work, so what it wrote is visible.
  bool idle() const { return pending_.load(std::memory_order_acquire) == 0; }

  // Blocks until idle.
  void drain() {
    std::unique_lock lock(mutex_);
    drained_.wait(lock, [&] { return idle(); });
  }

 private:
  void run() {
    on_progress_thread = true;
    using std::chrono::microseconds;
    microseconds backoff{20};
    std::unique_lock lock(mutex_);
    for (;;) {
      auto ready = [&] { return stopping_ || !queue_.empty(); };
      if (polls_.empty())
        work_.wait(lock, ready);
      else if (queue_.empty())
        work_.wait_for(lock, backoff, ready);
      if (!queue_.empty()) {
        Task task = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        task();
        task = nullptr;  // what it captured goes before it counts as done
        lock.lock();
        done(1);
      }
      if (!polls_.empty()) {
        lock.unlock();
        const auto before = polls_.size();
        std::erase_if(polls_, [](Poll& poll) { return poll(); });
        const auto finished = before - polls_.size();
        lock.lock();
        done(finished);
        backoff = finished ? microseconds{20} : std::min(2 * backoff, microseconds{1000});
      }
      if (stopping_ && queue_.empty() && polls_.empty()) return;
    }
  }

  void done(std::size_t count) {
    if (count == 0) return;
    pending_.fetch_sub(static_cast<int>(count), std::memory_order_release);
    drained_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable work_, drained_;
  std::deque<Task> queue_;
  std::vector<Poll> polls_;      // the engine's thread only
  std::atomic<int> pending_{0};  // queued, running or posted
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace colt::detail
