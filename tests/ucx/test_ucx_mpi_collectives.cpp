// The collective property suite over UCX bootstrapped through MPI: each process of the MPI job is
// one rank with one UCP worker; worker addresses travel by colt's MPI communicator, everything
// after that by UCX. Results are compared across ranks through plain MPI.
//
// The in-process suite (test_ucx_collectives.cpp) runs the whole matrix over the same colt UCX
// code, with ranks as threads. Here, with ranks as processes (an address space and a UCP
// context each, bootstrapped over MPI), run the parts that reach every path of that code:
// all_reduce (every type, op and algorithm, eager and rendezvous sizes), all_to_all with uneven
// counts, started calls, barrier, send/recv and split/dup. The rooted and gather parts make the
// same sends and receives as those.
#include <doctest/doctest.h>

#include <memory>

#include "colt/transport/ucx.hpp"
#include "mpi_world.hpp"
#include "rank_suite.hpp"

using namespace colt;
using namespace colt::test;

namespace {

ucx::Communicator& ucx_world() {
  static std::unique_ptr<ucx::Communicator> slot;
  if (!slot) {
    slot = std::make_unique<ucx::Communicator>(ucx::communicator(world()));
    release_hooks().push_back([] { slot.reset(); });
  }
  return *slot;
}

MpiSuiteWorld<ucx::Communicator>& suite_world() {
  static MpiSuiteWorld<ucx::Communicator> w{&ucx_world};
  return w;
}

}  // namespace

TEST_CASE("ucx over mpi: all_reduce") { suite::all_reduce_part(suite_world()); }
TEST_CASE("ucx over mpi: barrier") { suite::barrier_part(suite_world()); }
TEST_CASE("ucx over mpi: send/recv, split and dup") {
  suite::send_recv_part(suite_world());
  suite::split_dup_part(suite_world());
}
TEST_CASE("ucx over mpi: started calls") { suite::started_part(suite_world()); }
TEST_CASE("ucx over mpi: all_to_all and all_to_all_v") { suite::all_to_all_part(suite_world()); }
