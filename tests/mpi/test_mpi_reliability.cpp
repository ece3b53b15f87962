// Reliability across processes: the soak (10,000 random collectives, twice, on MPI ranks, every
// result checked, no allocation after the first pass) and injected faults over the MPI transport
// (which cannot abort its peers: each rank ends at its own deadline). Each fault case uses a
// fresh communicator (mpi::world duplicates MPI_COMM_WORLD), abandoned after the failure.
#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "colt/transport/fault_injection.hpp"
#include "errors.hpp"
#include "matrix.hpp"
#include "mpi_world.hpp"
#include "soak.hpp"

using namespace colt;
using namespace std::chrono_literals;

namespace {

using Faulty = colt::Communicator<faults::Injector<mpi::Transport>>;

struct Outcome {
  std::string error;
  std::optional<Error> raised;
  double seconds = 0;
  bool correct = false;
};

Outcome all_reduce_under(const faults::Plan& plan, CommunicatorOptions options) {
  auto world = mpi::world(options);
  Faulty comm(faults::Injector(std::move(world.transport()), plan), options);
  const int p = comm.size();
  std::vector<std::int64_t> data(3001), expected(3001);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] =
        static_cast<std::int64_t>(i * 7 + 1000003ull * static_cast<std::uint64_t>(comm.rank()));
    expected[i] = static_cast<std::int64_t>(i * 7 * static_cast<std::size_t>(p)) +
                  1000003ll * p * (p - 1) / 2;
  }
  Outcome o;
  const auto start = Clock::now();
  try {
    all_reduce(comm, data, sum{}, algo::ring);
    o.correct = data == expected;
  } catch (const Error& e) {
    o.error = e.what();
    o.raised = e;
  }
  o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  MESSAGE("rank ", comm.rank(), ": after ", o.seconds, " s: ", o.error.empty() ? "done" : o.error);
  return o;
}

}  // namespace

TEST_CASE(
    "soak: 10,000 random collectives on MPI ranks, checked, allocation-free in steady state") {
  auto comm = mpi::world();
  const long calls = test::reduced_scale() ? 2500 : 10000;
  auto s = test::run_soak(comm, calls, test::base_seed());
  CAPTURE(s.first_wrong);
  MESSAGE("rank ", comm.rank(), ": ", s.calls, " calls, ", s.wrong, " wrong, ",
          s.first_pass_allocations, " allocations in the first pass, ", s.steady_allocations,
          " after it");
  CHECK(s.calls == 2 * calls);
  CHECK(s.wrong == 0);
  CHECK(s.steady_allocations == 0);
}

TEST_CASE("fault over MPI: a delayed message still gives the right result") {
  faults::Plan plan{{{.action = faults::Action::delay,
                      .rank = 1,
                      .peer = faults::any_peer,
                      .message = 0,
                      .delay = 300ms}}};
  Outcome o = all_reduce_under(plan, {.timeout = 10s});
  CHECK(o.error.empty());
  CHECK(o.correct);
}

TEST_CASE(
    "fault over MPI: a dropped message ends in a timeout error on every rank within timeout + 1 "
    "s") {
  faults::Plan plan{
      {{.action = faults::Action::drop, .rank = 1, .peer = faults::any_peer, .message = 0}}};
  Outcome o = all_reduce_under(plan, {.timeout = 1s});
  REQUIRE(o.raised);
  CHECK(o.raised->kind() == ErrorKind::timeout);
  CHECK(o.raised->collective() == "all_reduce");
  CHECK(o.seconds < 2.0);
}

TEST_CASE(
    "fault over MPI: a corrupted message is caught by the integrity option, naming the peer") {
  faults::Plan plan{
      {{.action = faults::Action::corrupt, .rank = 1, .peer = faults::any_peer, .message = 0}}};
  Outcome o = all_reduce_under(plan, {.timeout = 1s, .checksum = true});
  CHECK(!o.error.empty());
  CHECK(o.seconds < 2.0);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // Rank 1's first message goes to its right neighbour in the ring, rank (1 + 1) % p.
  int p = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  if (rank == (1 + 1) % p) {
    REQUIRE(o.raised);
    CHECK(o.raised->kind() == ErrorKind::corrupt);
    CHECK(o.raised->peer() == 1);
  }
}
