// doctest's main for tests run under mpiexec: every rank runs the same test cases in the same
// order (each case is collective), rank 0 reports in full, other ranks report only failures, and
// every rank exits with the job's combined result so the launcher's status is the verdict. A run
// whose filters select no test case fails (selected_cases.hpp).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "mpi_world.hpp"
#include "selected_cases.hpp"

DOCTEST_REGISTER_LISTENER("count_selected", 1, colt::test::CountSelected);

int main(int argc, char** argv) {
  colt::mpi::Environment environment(argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::string minimal = "--minimal";
  std::vector<char*> args(argv, argv + argc);
  if (rank != 0) args.push_back(minimal.data());
  doctest::Context context(static_cast<int>(args.size()), args.data());
  int failed = context.run();
  if (context.shouldExit()) {
    colt::test::release_world();
    return failed;
  }
  if (failed == 0 && colt::test::selected_cases() == 0) {
    if (rank == 0) std::fprintf(stderr, "no test case matches this run's filters\n");
    failed = 1;
  }
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  colt::test::release_world();
  return any_failed ? 1 : 0;
}
