#pragma once
// colt::Request: a call started without waiting for it (colt::iall_reduce, colt::isend, ...).
// The MPI names were taken on purpose: an `i` in front of the blocking call's name, the same
// arguments, and a request to wait on, as MPI_Iallreduce and MPI_Wait. Unlike MPI, a started call
// progresses on its own (the communicator's progress engine runs it): the caller never needs to
// poll for it to advance.
//
// - wait() blocks until the call has finished and throws its colt::Error if it failed (the same
//   error, with the same kind and naming, as the blocking call would have thrown).
// - test() never blocks: true once finished (throwing its error if it failed), false before.
// - wait_for(duration) waits at most that long: true once finished, false if still running.
// A finished request is empty (valid() is false); waiting on an empty request returns at once.
//
// The buffers of a started call belong to it until the request is finished: do not read, write
// or free them before. Destroying (or assigning over) a request that has not finished waits for
// the call to end, so no call outlives the buffers of a request that goes out of scope; a failure
// found that way is not thrown from the destructor, but it breaks the communicator, so the next
// call reports it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <utility>

#include "colt/core/deadline.hpp"
#include "colt/core/error.hpp"
#include "colt/core/detail/progress_engine.hpp"
#include "colt/core/flight_recorder.hpp"

namespace colt {

namespace detail {
// What a started call and its request share: whether it has finished, and how.
struct RequestState {
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool finished = false;
  std::exception_ptr error;
  std::atomic<bool> cancel_requested{false};  // a posted message ends at the engine's next poll

  void finish(std::exception_ptr outcome) noexcept {
    {
      std::lock_guard lock(mutex);
      finished = true;
      error = std::move(outcome);
    }
    finished_cv.notify_all();
  }
};
}  // namespace detail

class [[nodiscard]] Request {
 public:
  Request() = default;
  explicit Request(std::shared_ptr<detail::RequestState> operation)
      : operation_(std::move(operation)) {}
  Request(Request&&) noexcept = default;
  Request& operator=(Request&& other) noexcept {
    if (this != &other) {
      wait_quietly();
      operation_ = std::move(other.operation_);
    }
    return *this;
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request() { wait_quietly(); }

  // A started call not yet waited for.
  bool valid() const noexcept { return operation_ != nullptr; }

  // Asks a started send or receive to give up (MPI_Cancel): unless it has already finished, it
  // ends at once with a colt::Error (aborted), and its buffer is free again. A started
  // collective cannot be cancelled: every rank takes part, so it runs to its end (or deadline).
  // Returns at once; wait() for the outcome.
  void cancel() noexcept {
    if (operation_) operation_->cancel_requested.store(true, std::memory_order_relaxed);
  }

  void wait() {
    if (!operation_) return;
    {
      std::unique_lock lock(operation_->mutex);
      operation_->finished_cv.wait(lock, [&] { return operation_->finished; });
    }
    collect();
  }

  bool test() {
    if (!operation_) return true;
    {
      std::lock_guard lock(operation_->mutex);
      if (!operation_->finished) return false;
    }
    collect();
    return true;
  }

  bool wait_for(Clock::duration timeout) {
    if (!operation_) return true;
    {
      std::unique_lock lock(operation_->mutex);
      if (!operation_->finished_cv.wait_for(lock, timeout, [&] { return operation_->finished; }))
        return false;
    }
    collect();
    return true;
  }

 private:
  // The call has finished: the request empties, and the call's error, if any, is thrown.
  void collect() {
    const std::exception_ptr error = std::move(operation_->error);
    operation_.reset();
    if (error) std::rethrow_exception(error);
  }

  void wait_quietly() noexcept {
    if (!operation_) return;
    std::unique_lock lock(operation_->mutex);
    operation_->finished_cv.wait(lock, [&] { return operation_->finished; });
    lock.unlock();
    operation_.reset();
  }

  std::shared_ptr<detail::RequestState> operation_;
};

// Waits for every request in turn; the first error is thrown once all have finished.
template <class Requests>
void wait_all(Requests& requests) {
  std::exception_ptr first;
  for (Request& r : requests) {
    try {
      r.wait();
    } catch (...) {
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

namespace detail {

// The exception being handled, for another thread to rethrow: a colt::Error is copied into an
// exception of its own, so the thread that threw it keeps nothing the waiting thread reads (the
// thrown object is destroyed here, at the end of the handler).
inline std::exception_ptr outcome_of_current_exception() noexcept {
  try {
    throw;
  } catch (const Error& e) {
    return std::make_exception_ptr(e);
  } catch (...) {
    return std::current_exception();
  }
}

// Queues `body` (which owns what it needs; the buffers it points to stay the caller's) on
// `engine`, behind everything started before it. Its outcome goes to the returned request.
template <class Body>
Request start_on(ProgressEngine& engine, Body body) {
  auto operation = std::make_shared<RequestState>();
  engine.submit([operation, body = std::move(body)]() mutable noexcept {
    try {
      body();
      operation->finish(nullptr);
    } catch (...) {
      operation->finish(outcome_of_current_exception());
    }
  });
  return Request(std::move(operation));
}

// A blocking call: at once on the calling thread when nothing started earlier is pending (the
// common case, which costs a load), else queued behind what is, and waited for. Queued, not
// run after draining the engine: a pending receive may wait for a message the peer sends only
// after this call.
template <class Body>
void run_in_order(ProgressEngine* engine, Body&& body) {
  if (!engine || engine->idle()) return body();
  start_on(*engine, [&body] { body(); }).wait();
}

// Runs a queued call's body on the progress thread with the flight-recorder entry it was queued
// under (FlightRecorder::queue), which the call retires as it begins. A body that ends without
// beginning its call (its arguments failed their checks) ends the entry itself.
template <class Body>
void run_queued(const RecordHandle& queued, Body& body) {
  const auto unbegun = [] { return std::exchange(queued_call_on_this_thread, {}).live(); };
  queued_call_on_this_thread = queued;
  try {
    body();
  } catch (const Error& e) {
    FlightRecorder::failed(unbegun(), e);
    throw;
  } catch (...) {
    FlightRecorder::failed(unbegun());
    throw;
  }
  FlightRecorder::finished(unbegun());
}

// start_on and run_in_order for a call of `kind` on a communicator with a flight recorder: a
// call that waits its turn on the progress thread is recorded as queued from the moment it is
// handed over (in the recorder's ring of queued calls; the thread running calls writes the rest).
template <class Body>
Request start_on(ProgressEngine& engine, FlightRecorder* recorder, CollectiveKind kind, Body body) {
  const RecordHandle queued = recorder ? recorder->queue(kind, true) : RecordHandle{};
  return start_on(engine, [queued, body = std::move(body)]() mutable { run_queued(queued, body); });
}

template <class Body>
void run_in_order(ProgressEngine* engine, FlightRecorder* recorder, CollectiveKind kind,
                  Body&& body) {
  if (!engine || engine->idle()) return body();
  const RecordHandle queued = recorder ? recorder->queue(kind, false) : RecordHandle{};
  start_on(*engine, [&body, queued] { run_queued(queued, body); }).wait();
}

}  // namespace detail

}  // namespace colt
