#pragma once
// What every launcher of thread ranks does around a rank's function: a rank that throws aborts
// its communicator's transport before the exception leaves, so that its peers' waits end at once
// instead of at their deadline.

#include <exception>

namespace colt::detail {

template <class Comm, class Fn>
void run_aborting_on_throw(Comm& comm, Fn& fn) {
  try {
    fn(comm);
  } catch (const std::exception& e) {
    comm.transport().abort(e.what());
    throw;
  } catch (...) {
    comm.transport().abort("unknown exception");
    throw;
  }
}

}  // namespace colt::detail
