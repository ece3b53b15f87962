#pragma once
// A dump on a signal, for a job that is stuck without failing: after
// colt::dump_traces_on_signal(SIGUSR1), `kill -USR1 <pid>` makes every live communicator of
// that process write its flight recorder (core/flight_recorder.hpp) to its trace directory,
// as a failure would, while its calls go on waiting. The handler only wakes a thread of
// colt's (a semaphore post is one of the few things a handler may do); that thread writes the
// files. Which signal is the program's choice: colt takes none by itself.

#include <atomic>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include <semaphore.h>

#include "colt/core/detail/trace_registry.hpp"
#include "colt/core/error.hpp"

namespace colt {

namespace detail {

// At namespace scope, so that the handler touches nothing but the semaphore (a function-local
// static would make it call a function that may initialise one).
inline sem_t trace_signal_wake{};
inline std::atomic<int> trace_signal_dumps{0};  // rounds of dumps written: what a test waits for
inline std::mutex trace_signal_mutex;           // for starting the thread once
inline bool trace_signal_started = false;

inline void on_trace_signal(int) {
  const int saved = errno;
  (void)::sem_post(&trace_signal_wake);
  errno = saved;
}

}  // namespace detail

// From now on, `signal` makes every live communicator of this process write its trace to its
// trace directory (COLT_TRACE_DIR, or the options' trace_dir; the current directory when neither
// names one). Throws colt::Error when the signal cannot be handled.
inline void dump_traces_on_signal(int signal) {
  std::lock_guard lock(detail::trace_signal_mutex);
  if (!detail::trace_signal_started) {
    if (::sem_init(&detail::trace_signal_wake, 0, 0) != 0)
      throw Error(ErrorKind::internal, Operation::dump_trace, Error::no_rank,
                  "sem_init: " + std::system_category().message(errno));
    std::thread([] {
      for (;;) {
        while (::sem_wait(&detail::trace_signal_wake) != 0) {
        }
        detail::TraceRegistry::instance().dump_all();
        detail::trace_signal_dumps.fetch_add(1, std::memory_order_release);
      }
    }).detach();
    detail::trace_signal_started = true;
  }
  struct sigaction action {};
  action.sa_handler = detail::on_trace_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (::sigaction(signal, &action, nullptr) != 0)
    throw Error(ErrorKind::invalid_argument, Operation::dump_trace, Error::no_rank,
                "cannot handle signal " + std::to_string(signal) + ": " +
                    std::system_category().message(errno));
}

}  // namespace colt
