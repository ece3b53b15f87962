#pragma once
// colt::mpi::Environment: MPI's lifetime as an object. Asks for MPI_THREAD_MULTIPLE and accepts
// whatever the library provides (thread_level() says which); if MPI is already initialised, as in
// a program that adopts colt inside existing MPI code, it neither initialises nor finalises.

#include "colt/transport/mpi/mpi_h.hpp"

#include "colt/transport/mpi/check.hpp"

namespace colt::mpi {

enum class ThreadLevel : int {
  single = MPI_THREAD_SINGLE,
  funneled = MPI_THREAD_FUNNELED,
  serialized = MPI_THREAD_SERIALIZED,
  multiple = MPI_THREAD_MULTIPLE,
};

inline bool initialized() {
  int flag = 0;
  MPI_Initialized(&flag);
  return flag != 0;
}

inline bool finalized() {
  int flag = 0;
  MPI_Finalized(&flag);
  return flag != 0;
}

class Environment {
 public:
  Environment() : Environment(nullptr, nullptr) {}
  Environment(int& argc, char**& argv, ThreadLevel wanted = ThreadLevel::multiple)
      : Environment(&argc, &argv, wanted) {}

  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  // Finalises only what it initialised. Every colt communicator over MPI should be gone by now
  // (those that are not skip freeing their MPI_Comm once MPI is finalised).
  ~Environment() {
    if (owns_ && !finalized()) MPI_Finalize();
  }

  ThreadLevel thread_level() const { return provided_; }
  // True when any thread may call MPI at any time: needed to drive two colt communicators from
  // two threads at once. With less, drive colt from one thread (the main thread for `funneled`).
  bool thread_multiple() const { return provided_ == ThreadLevel::multiple; }
  // False when MPI was already initialised by the program.
  bool owns_mpi() const { return owns_; }

 private:
  Environment(int* argc, char*** argv, ThreadLevel wanted = ThreadLevel::multiple) {
    int provided = MPI_THREAD_SINGLE;
    if (initialized()) {
      MPI_Query_thread(&provided);
    } else {
      check(MPI_Init_thread(argc, argv, static_cast<int>(wanted), &provided), -1, no_peer,
            "MPI_Init_thread");
      owns_ = true;
      // colt's own communicators return errors, but MPICH (4.0) reports an error completing a
      // request (a truncated receive, a failed peer) through MPI_COMM_WORLD's handler, whose
      // default aborts the job. A program that lets colt initialise MPI gets errors returned
      // everywhere, so they surface as colt::Error. A program that initialises MPI itself
      // decides this for itself (docs/mpi.md).
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    }
    provided_ = static_cast<ThreadLevel>(provided);
  }

  bool owns_ = false;
  ThreadLevel provided_ = ThreadLevel::single;
};

}  // namespace colt::mpi
