// The collective property suite over the MPI transport: each process is one rank and runs the
// per-rank suite (support/rank_suite.hpp) on colt's world communicator; results are compared
// across ranks through plain MPI, independent of the colt code under test.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "mpi_world.hpp"
#include "rank_suite.hpp"

using namespace colt;
using namespace colt::test;

TEST_CASE("mpi all_reduce: every algorithm x small counts x type x op x form, and large counts") {
  suite::all_reduce_part(mpi_suite_world());
}

TEST_CASE("mpi two-level all_reduce: hierarchical and node_leaders on emulated nodes") {
  suite::two_level_part(mpi_suite_world());
}

TEST_CASE("mpi reduce_scatter and reduce_scatter_v") {
  suite::reduce_scatter_part(mpi_suite_world());
}

TEST_CASE("mpi all_gather and all_gather_v") { suite::all_gather_part(mpi_suite_world()); }

TEST_CASE("mpi broadcast and reduce: every root-taking algorithm") {
  suite::broadcast_reduce_part(mpi_suite_world());
}

TEST_CASE("mpi scatter, scatter_v, gather, gather_v") {
  suite::scatter_gather_part(mpi_suite_world());
}

TEST_CASE("mpi barrier: nobody leaves before everybody arrived") {
  suite::barrier_part(mpi_suite_world());
}

TEST_CASE("mpi send/recv: user tags keep messages apart, sizes are checked") {
  suite::send_recv_part(mpi_suite_world());
}

TEST_CASE("mpi split and dup: sub-communicators run collectives on their own") {
  suite::split_dup_part(mpi_suite_world());
}

TEST_CASE("mpi started calls: collectives outstanding at once, receives before sends") {
  suite::started_part(mpi_suite_world());
}

TEST_CASE("mpi all_to_all and all_to_all_v") { suite::all_to_all_part(mpi_suite_world()); }
