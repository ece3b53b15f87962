// The collective property suite over UCX bootstrapped through MPI: each process of the MPI job is
// one rank with one UCP worker; worker addresses travel by colt's MPI communicator, everything
// after that by UCX. Results are compared across ranks through plain MPI.
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
TEST_CASE("ucx over mpi: reduce_scatter and reduce_scatter_v") {
  suite::reduce_scatter_part(suite_world());
}
TEST_CASE("ucx over mpi: all_gather and all_gather_v") { suite::all_gather_part(suite_world()); }
TEST_CASE("ucx over mpi: broadcast and reduce") { suite::broadcast_reduce_part(suite_world()); }
TEST_CASE("ucx over mpi: scatter, scatter_v, gather, gather_v") {
  suite::scatter_gather_part(suite_world());
}
TEST_CASE("ucx over mpi: barrier") { suite::barrier_part(suite_world()); }
TEST_CASE("ucx over mpi: send/recv, split and dup") {
  suite::send_recv_part(suite_world());
  suite::split_dup_part(suite_world());
}
TEST_CASE("ucx over mpi: started calls") { suite::started_part(suite_world()); }
TEST_CASE("ucx over mpi: all_to_all and all_to_all_v") { suite::all_to_all_part(suite_world()); }
