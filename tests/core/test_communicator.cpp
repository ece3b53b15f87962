#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/barrier.hpp"
#include "colt/core/communicator.hpp"
#include "colt/transport/inprocess.hpp"
#include "errors.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;
using namespace std::chrono_literals;

TEST_CASE("communicator: rank, size, default timeout and COLT_TIMEOUT_S") {
  ::unsetenv("COLT_TIMEOUT_S");
  inprocess::launch(3, [](inprocess::Communicator& comm) {
    CHECK(comm.size() == 3);
    CHECK(comm.rank() >= 0);
    CHECK(comm.timeout() == std::chrono::seconds(300));
  });
  ::setenv("COLT_TIMEOUT_S", "2.5", 1);
  inprocess::launch(1, [](inprocess::Communicator& comm) { CHECK(comm.timeout() == 2500ms); });
  ::setenv("COLT_TIMEOUT_S", "soon", 1);
  CHECK(error_kind([] { inprocess::launch(1, [](inprocess::Communicator&) {}); }) ==
        ErrorKind::invalid_argument);
  ::unsetenv("COLT_TIMEOUT_S");
  inprocess::launch(
      1, [](inprocess::Communicator& comm) { CHECK(comm.timeout() == 300s); },
      CommunicatorOptions{.timeout = std::chrono::seconds(300)});
  inprocess::launch(
      1, [](inprocess::Communicator& comm) { CHECK(comm.timeout() == 7s); },
      CommunicatorOptions{.timeout = std::chrono::seconds(7)});
}

TEST_CASE("communicator: settings say what it runs with and where each value came from") {
  ::setenv("COLT_TIMEOUT_S", "30", 1);
  ::setenv("COLT_ALGO", "ring", 1);
  ::unsetenv("COLT_CHECK");
  inprocess::launch(
      2,
      [](inprocess::Communicator& comm) {
        const Settings& s = comm.settings();
        CHECK(s.algorithm == algo::ring);
        CHECK(s.algorithm_from == SettingSource::environment);
        CHECK(s.check);
        CHECK(s.check_from == SettingSource::option);
        CHECK(to_string(s) ==
              "timeout 30 s (COLT_TIMEOUT_S), check on (option), checksum off, ordered off, "
              "algorithm ring (COLT_ALGO), tuning compiled table, trace 1024 calls, watchdog 3 s, "
              "node " +
                  detail::host_name());
        // split and dup inherit the settings, sources included, and read nothing again. (Every
        // rank has built its communicator before the variable changes: the barriers.)
        barrier(comm);
        if (comm.rank() == 0) ::setenv("COLT_ALGO", "tree", 1);
        barrier(comm);
        inprocess::Communicator copy = comm.dup();
        CHECK(to_string(copy.settings()) == to_string(s));
        // The progress thread exists once a call was started, and is said to.
        CHECK_FALSE(comm.has_progress_thread());
        std::vector<float> data(4, 1.0f);
        iall_reduce(comm, data, sum{}).wait();
        CHECK(comm.has_progress_thread());
      },
      CommunicatorOptions{.check = true});
  ::unsetenv("COLT_ALGO");
  ::setenv("COLT_ALGO", "ordered", 1);  // COLT_ORDERED's, not COLT_ALGO's
  CHECK(error_kind([] { inprocess::launch(1, [](inprocess::Communicator&) {}); }) ==
        ErrorKind::invalid_argument);
  ::unsetenv("COLT_ALGO");
}

TEST_CASE("communicator: a collective that a peer never joins ends at the timeout, naming both") {
  const auto error = error_from([] {
    inprocess::launch(2, [](inprocess::Communicator& comm) {
      comm.set_timeout(200ms);
      if (comm.rank() == 1) {
        std::this_thread::sleep_for(800ms);  // alive, but not calling
        return;
      }
      std::vector<float> data(16, 1.0f);
      all_reduce(comm, data, sum{});
    });
  });
  REQUIRE(error);
  CHECK(error->kind() == ErrorKind::timeout);
  CHECK(error->collective() == "all_reduce");
  CHECK(error->rank() == 0);
  CHECK(error->peer() == 1);
}

TEST_CASE("communicator: split by color orders by key, then rank; sub-groups reduce apart") {
  for (int ranks = 1; ranks <= 8; ++ranks) {
    CAPTURE(ranks);
    inprocess::launch(ranks, [&](inprocess::Communicator& comm) {
      const int color = comm.rank() % 3;
      const int key = -comm.rank();  // reverse order inside each color
      inprocess::Communicator sub = comm.split(color, key);
      int members = 0, position = 0;
      for (int r = 0; r < ranks; ++r)
        if (r % 3 == color) {
          ++members;
          if (r > comm.rank()) ++position;
        }
      CHECK(sub.size() == members);
      CHECK(sub.rank() == position);
      std::vector<std::int64_t> value = {comm.rank() + 1};
      all_reduce(sub, value, sum{});
      std::int64_t expected = 0;
      for (int r = color; r < ranks; r += 3) expected += r + 1;
      CHECK(value[0] == expected);
      CHECK(sub.timeout() == comm.timeout());
    });
  }
}

TEST_CASE("communicator: a 2-D grid of splits (rows x columns) works together") {
  inprocess::launch(6, [](inprocess::Communicator& world) {
    const int row = world.rank() / 3, column = world.rank() % 3;
    auto row_comm = world.split(row, column);     // 2 groups of 3
    auto column_comm = world.split(column, row);  // 3 groups of 2
    std::vector<int> a = {world.rank()}, b = {world.rank()};
    all_reduce(row_comm, a, sum{});
    all_reduce(column_comm, b, sum{});
    CHECK(a[0] == (row == 0 ? 0 + 1 + 2 : 3 + 4 + 5));
    CHECK(b[0] == column + column + 3);
  });
}

TEST_CASE("communicator: concurrent collectives on different communicators never cross") {
  inprocess::launch(4, [](inprocess::Communicator& comm) {
    inprocess::Communicator other = comm.dup();
    CHECK(other.size() == 4);
    CHECK(other.rank() == comm.rank());
    std::vector<double> a(100003), b(100003);
    for (int iteration = 0; iteration < 20; ++iteration) {
      std::fill(a.begin(), a.end(), 1.0 + comm.rank());
      std::fill(b.begin(), b.end(), 100.0 * (1 + comm.rank()));
      std::thread side([&] { all_reduce(other, b, sum{}, algo::ring); });
      all_reduce(comm, a, sum{}, algo::ring);
      side.join();
      CHECK(a.front() == 10.0);
      CHECK(a.back() == 10.0);
      CHECK(b.front() == 1000.0);
      CHECK(b.back() == 1000.0);
    }
  });
}

TEST_CASE("communicator: the workspace stops growing after the first calls") {
  inprocess::launch(3, [](inprocess::Communicator& comm) {
    std::vector<float> in(300001, 1.0f);
    for (int i = 0; i < 3; ++i) all_reduce(comm, in, sum{}, algo::ring);
    const std::size_t settled = comm.workspace().capacity();
    for (int i = 0; i < 5; ++i) all_reduce(comm, in, sum{}, algo::ring);
    CHECK(comm.workspace().capacity() == settled);
  });
}

TEST_CASE("communicator: negative split color is rejected") {
  const auto error = error_from(
      [] { inprocess::launch(2, [](inprocess::Communicator& comm) { comm.split(-1, 0); }); });
  REQUIRE(error);
  CHECK(error->kind() == ErrorKind::invalid_argument);
  CHECK(error->collective() == "split");
}

TEST_CASE("communicator: which ranks share a node; split_by_node and split_by_rail") {
  ::unsetenv("COLT_NODE");
  ::unsetenv("COLT_RANKS_PER_NODE");
  // One process: every rank on one node, named after the host.
  inprocess::launch(3, [](inprocess::Communicator& comm) {
    CHECK(comm.node() == detail::host_name());
    const NodeMap& map = comm.nodes();
    CHECK(map.nodes == 1);
    CHECK(map.local_rank == std::vector<int>{0, 1, 2});
    CHECK(comm.split_by_node().size() == 3);
    CHECK(comm.split_by_rail().size() == 1);
  });
  // 8 ranks as 3 emulated nodes of 3, 3 and 2 ranks (COLT_RANKS_PER_NODE, named by COLT_NODE).
  ::setenv("COLT_NODE", "emu", 1);
  ::setenv("COLT_RANKS_PER_NODE", "3", 1);
  inprocess::launch(8, [](inprocess::Communicator& comm) {
    const int r = comm.rank();
    CHECK(comm.node() == "emu/node" + std::to_string(r / 3));
    const NodeMap& map = comm.nodes();
    CHECK(map.nodes == 3);
    CHECK(map.node_of == std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2});
    CHECK(map.local_rank == std::vector<int>{0, 1, 2, 0, 1, 2, 0, 1});
    CHECK(map.most_per_node() == 3);
    CHECK(to_string(map) == "3 nodes: ranks 0-2; ranks 3-5; ranks 6-7");
    auto node = comm.split_by_node();
    CHECK(node.size() == (r < 6 ? 3 : 2));
    CHECK(node.rank() == r % 3);
    CHECK(node.node() == comm.node());  // a split keeps its ranks' nodes
    CHECK(node.nodes().nodes == 1);
    auto rail = comm.split_by_rail();
    CHECK(rail.size() == (r % 3 == 2 ? 2 : 3));  // local rank 2 has no rank on the third node
    CHECK(rail.rank() == r / 3);
    CHECK(rail.nodes().nodes == rail.size());
    // The two levels add up: the sum over the node, then over the rail of the nodes' first
    // ranks, is the sum over all 8 ranks (1 + ... + 8).
    std::vector<long> value{r + 1};
    all_reduce(node, std::span(value), sum{});
    all_reduce(rail, std::span(value), sum{});
    if (r % 3 == 0) CHECK(value[0] == 36);
  });
  ::unsetenv("COLT_NODE");
  ::unsetenv("COLT_RANKS_PER_NODE");
}
