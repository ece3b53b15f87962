#pragma once
// What DataParallel and ShardedDataParallel share about running collectives for a step:
// whether their transport lets a progress engine drive a communicator while the caller's thread
// drives another, the rule that after one failed collective the adapter is broken for good
// (its peers are out of step), every later call rethrowing that first failure, and the rule that
// a step's requests are all waited for even after one failed, so that none outlives the step.

#include <exception>
#include <string>
#include <utility>

#include "colt/core/operation.hpp"
#include "colt/core/transport_concepts.hpp"

namespace colt::detail {

// A transport says so (MPI: MPI_THREAD_MULTIPLE); otherwise a splittable one can, since the
// engine then drives a communicator of its own.
template <class T>
bool concurrent_use_allowed(T& transport) {
  if constexpr (requires { transport.concurrent_communicators(); })
    return transport.concurrent_communicators();
  else
    return SplittableTransport<T>;
}

// An adapter destroyed in the middle of a step (an exception in backward) will never make the
// step's remaining collectives: the group is aborted where the transport can (in-process), so
// peers fail at once instead of at their deadline, and so do the collectives already started.
template <class Comm>
void abort_unfinished_step(Comm& comm, Operation adapter, int rank) {
  if constexpr (AbortableTransport<typename Comm::transport_type>)
    comm.transport().abort(std::string(name_of(adapter)) + " on rank " + std::to_string(rank) +
                           " was destroyed in the middle of a step");
}

class StepGuard {
 public:
  // Runs a collective (or waits for one); a failure breaks the adapter, and is rethrown.
  template <class Fn>
  void guarded(Fn&& fn) {
    try {
      std::forward<Fn>(fn)();
    } catch (...) {
      if (!broken_) broken_ = std::current_exception();
      throw;
    }
  }
  void throw_if_broken() const {
    if (broken_) std::rethrow_exception(broken_);
  }

 private:
  std::exception_ptr broken_;
};

// Runs each of a step's waits to its end, keeping the first failure to rethrow after the last.
class FirstFailure {
 public:
  // Whether `fn` returned; a failure is kept (the first) and not rethrown yet.
  template <class Fn>
  bool run(Fn&& fn) {
    try {
      std::forward<Fn>(fn)();
      return true;
    } catch (...) {
      if (!first_) first_ = std::current_exception();
      return false;
    }
  }
  bool failed() const { return first_ != nullptr; }
  void rethrow() const {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::exception_ptr first_;
};

}  // namespace colt::detail
