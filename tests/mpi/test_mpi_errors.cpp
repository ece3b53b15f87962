// Bad input across processes: every rank ends with a colt::Error, none hangs. Each case uses a
// fresh communicator with a short timeout, abandoned after the failure (its state is undefined,
// as with MPI after an error), so the cases stay independent.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "mpi_world.hpp"
#ifdef COLT_TEST_UCX
#include "colt/transport/ucx.hpp"
#endif

using namespace colt;
using namespace colt::test;

namespace {

#ifdef COLT_TEST_UCX
// The same cases over UCX, bootstrapped over MPI (tests/ucx/meson.build builds this file again).
using TestCommunicator = ucx::Communicator;
TestCommunicator fresh() {
  auto bootstrap = mpi::world(CommunicatorOptions{.timeout = std::chrono::seconds(3)});
  return ucx::communicator(bootstrap);
}
#else
using TestCommunicator = mpi::Communicator;
TestCommunicator fresh() { return mpi::world(CommunicatorOptions{.timeout = std::chrono::seconds(3)}); }
#endif

// Runs fn on a fresh communicator; returns the colt::Error text it raised on this rank ("" if none).
template <class Fn>
std::string error_of(Fn&& fn) {
  auto comm = fresh();
  try {
    fn(comm);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("mismatched counts between ranks: every rank raises colt::Error, naming the collective") {
  for (Algorithm algorithm : {algo::ring, algo::tree, algo::direct}) {
    CAPTURE(std::string(name_of(algorithm)));
    const auto start = Clock::now();
    const std::string what = error_of([&](TestCommunicator& comm) {
      std::vector<float> data(comm.rank() == 1 ? 1000 : 1003, 1.5f);
      all_reduce(comm, data, sum{}, algorithm);
    });
    CHECK_MESSAGE(what.find("colt::all_reduce") != std::string::npos, what);
    CHECK(std::chrono::duration<double>(Clock::now() - start).count() < 30);
    CHECK(all_ranks(!what.empty()));
  }
  const std::string gathered = error_of([&](TestCommunicator& comm) {
    std::vector<std::int64_t> in(comm.rank() == 0 ? 5 : 7, 1), out(7 * static_cast<std::size_t>(comm.size()));
    all_gather(comm, std::span(in).first(comm.rank() == 0 ? 5 : 7), std::span(out).first(in.size() * static_cast<std::size_t>(comm.size())));
  });
  CHECK_MESSAGE(gathered.find("colt::all_gather") != std::string::npos, gathered);
  CHECK(all_ranks(!gathered.empty()));
}

TEST_CASE("a root out of range is reported on every rank before any traffic") {
  for (int root : {-1, 1 << 20}) {
    auto comm = fresh();
    std::vector<double> data(10, 2.0);
    CHECK_THROWS_WITH_AS(broadcast(comm, data, root), doctest::Contains("root"), Error);
    CHECK_THROWS_WITH_AS(reduce(comm, data, root == -1 ? -1 : comm.size(), sum{}), doctest::Contains("root"), Error);
    // Nothing was sent: the same communicator still works.
    all_reduce(comm, data, sum{});
    CHECK(data[0] == 2.0 * comm.size());
  }
}

TEST_CASE("a buffer too small is reported before any traffic") {
  auto comm = fresh();
  std::vector<float> in(8 * static_cast<std::size_t>(comm.size())), out(7);
  CHECK_THROWS_WITH_AS(reduce_scatter(comm, in, out, sum{}), doctest::Contains("output"), Error);
  std::vector<float> gathered(3);
  CHECK_THROWS_WITH_AS(all_gather(comm, std::span(in).first(2), gathered), doctest::Contains("output"), Error);
  barrier(comm);
}
