#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "colt/collectives/barrier.hpp"
#include "colt/transport/inprocess.hpp"
#include "random.hpp"
#include "errors.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;

TEST_CASE("barrier: no rank leaves before every rank has arrived (ranks 1..8, random delays)") {
  for (int ranks = 1; ranks <= 8; ++ranks) {
    CAPTURE(ranks);
    std::atomic<int> arrived{0};
    std::atomic<int> early{0};
    inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
      std::mt19937_64 rng(test::base_seed() +
                          static_cast<std::uint64_t>(comm.rank() * 131 + ranks));
      for (int round = 0; round < 5; ++round) {
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
        arrived.fetch_add(1);
        barrier(comm);
        if (arrived.load() < (round + 1) * ranks) early.fetch_add(1);
        barrier(comm);  // nobody starts the next round before all checked this one
      }
    });
    CHECK(early == 0);
  }
}

TEST_CASE("barrier: a rank that never arrives ends in a timeout on the others") {
  const auto error = error_from([] {
    inprocess::launch(3, [](inprocess::Communicator& comm) {
      comm.set_timeout(std::chrono::milliseconds(100));
      if (comm.rank() == 2) {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        return;
      }
      barrier(comm);
    });
  });
  REQUIRE(error);
  CHECK(error->kind() == ErrorKind::timeout);
  CHECK(error->collective() == "barrier");
}
