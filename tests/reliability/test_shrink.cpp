// Surviving a lost rank on in-process ranks: the survivors name the dead rank, agree on who is
// left, and go on with a shrunk communicator (core/communicator.hpp's shrink).

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/barrier.hpp"
#include "colt/transport/inprocess.hpp"
#include "errors.hpp"
#include "shrink_cases.hpp"

using namespace colt;
using namespace std::chrono_literals;

namespace {

CommunicatorOptions surviving(double timeout_s = 10) {
  CommunicatorOptions o;
  o.timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  return o;
}

auto inprocess_launch(CommunicatorOptions options) {
  return
      [options](int ranks, auto&& fn) { return inprocess::launch_surviving(ranks, fn, options); };
}

}  // namespace

TEST_CASE("shrink in-process: 4 ranks to 3, 4 to 2, 2 to 1, 5 to 3; none waits for the timeout") {
  const test::LossCase cases[] = {
      {4, {2}, -1},  // 4 -> 3
      {4, {1}, 3},   // 4 -> 2: the second dies while the others recover
      {2, {0}, -1},  // 2 -> 1
      {5, {0, 4}, -1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.ranks);
    CAPTURE(c.die_in_recovery);
    const test::LossOutcome out = test::lose_ranks(inprocess_launch(surviving()), c);
    test::check_loss(c, out);
    CHECK(out.seconds < 5.0);  // the timeout is 10 s: nothing waited for it
  }
}

TEST_CASE("shrink in-process: a rank that stops answering is declared failed at the timeout") {
  // Rank 1 hangs (alive, never calling): the others time out, agree without it within a second
  // more, and go on; when it wakes, its own shrink says the others declared it failed.
  std::vector<std::optional<Error>> errors(3), late(3);
  std::vector<int> sizes(3, -1);
  const auto started = Clock::now();
  auto failures = inprocess::launch_surviving(
      3,
      [&](inprocess::Communicator& comm) {
        comm.identify_failures();
        const auto me = static_cast<std::size_t>(comm.rank());
        if (comm.rank() == 1) {
          std::this_thread::sleep_for(2500ms);
          late[me] = test::error_from([&] { (void)comm.shrink(); });
          return;
        }
        std::vector<double> data(7, 1.5);
        errors[me] = test::error_from([&] { all_reduce(comm, std::span(data), sum{}); });
        auto rest = comm.shrink();
        sizes[me] = rest.size();
        all_reduce(rest, std::span(data), sum{});
        CHECK(data[0] == 3.0);
      },
      surviving(0.5));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  for (std::size_t r : {0u, 2u}) {
    REQUIRE(errors[r].has_value());
    INFO(errors[r]->what());
    CHECK(errors[r]->kind() == ErrorKind::peer_failed);
    CHECK(errors[r]->peer() == 1);
    CHECK(sizes[r] == 2);
  }
  REQUIRE(late[1].has_value());
  CHECK(late[1]->kind() == ErrorKind::peer_failed);
  CHECK(seconds < 2 * (0.5 + 1) + 2.5);
  for (auto& f : failures) CHECK(f == nullptr);
}

TEST_CASE("shrink in-process: with nobody failed, shrink keeps every rank") {
  inprocess::launch(
      3,
      [&](inprocess::Communicator& comm) {
        auto same = comm.shrink();
        CHECK(same.size() == 3);
        CHECK(same.rank() == comm.rank());
        CHECK(comm.failed_ranks().empty());
        CHECK(comm.broken());
        barrier(same);
      },
      surviving());
}

TEST_CASE("shrink in-process: without identify_failures the error stays as the transport saw it") {
  std::vector<std::optional<Error>> errors(3);
  inprocess::launch_surviving(
      3,
      [&](inprocess::Communicator& comm) {
        if (comm.rank() == 2) throw test::Killed();
        std::vector<float> data(5, 1.0f);
        errors[static_cast<std::size_t>(comm.rank())] =
            test::error_from([&] { all_reduce(comm, std::span(data), sum{}); });
        CHECK(comm.failed_ranks().empty());
      },
      surviving());
  for (std::size_t r : {0u, 1u}) {
    REQUIRE(errors[r].has_value());
    CHECK(errors[r]->kind() == ErrorKind::aborted);
  }
}
