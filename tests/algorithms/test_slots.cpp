// The shared-slot rounds as a stream (algorithms/slots.hpp, transport/detail/inprocess_slots.hpp):
// rooted rounds (broadcast, reduce), whose writers return without waiting, mixed with gathering
// ones, with roots that change and ranks that fall behind. The collective suites check each
// collective's results on slots; this checks that a writer running ahead never overwrites a slot
// that a rank behind it has still to read, and that failures in rooted rounds are named.

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <numeric>
#include <optional>
#include <thread>
#include <vector>

#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/collectives/reduce_scatter.hpp"
#include "colt/transport/inprocess.hpp"
#include "errors.hpp"

using namespace colt;
using namespace colt::test;

namespace {

// Rank r's element j in call i: distinct per rank, call and position, exact in int64 sums.
std::int64_t value(int rank, int call, std::size_t j) {
  return std::int64_t{rank + 1} * 1000003 + std::int64_t{call} * 131 + static_cast<std::int64_t>(j);
}
std::int64_t sum_over_ranks(int ranks, int call, std::size_t j) {
  std::int64_t total = 0;
  for (int r = 0; r < ranks; ++r) total += value(r, call, j);
  return total;
}
std::vector<std::int64_t> values(int rank, int call, std::size_t count) {
  std::vector<std::int64_t> v(count);
  for (std::size_t j = 0; j < count; ++j) v[j] = value(rank, call, j);
  return v;
}

}  // namespace

TEST_CASE("slots: rooted and gathering rounds in any mix, with late ranks, give exact results") {
  constexpr int calls = 120;
  for (int p : {1, 2, 3, 5, 8}) {
    CAPTURE(p);
    std::vector<int> wrong(static_cast<std::size_t>(p), 0);
    inprocess::launch(p, [&](inprocess::Communicator& comm) {
      const int r = comm.rank();
      int& bad = wrong[static_cast<std::size_t>(r)];
      for (int i = 0; i < calls; ++i) {
        // Now and then one rank is late (a reduce's root, or a broadcast's): the others run
        // ahead through the rooted rounds until their slots are the ones it has still to read,
        // and must wait there, or wait for the root's part.
        if (i % 17 == 5 && r == (i * 7 + 1) % p)
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (i % 23 == 11 && r == i % p) std::this_thread::sleep_for(std::chrono::milliseconds(2));

        // Broadcast from a root that changes; every 40th call, three rounds (8800 bytes).
        const int root = i % p;
        const std::size_t count = i % 40 == 39 ? 1100 : std::size_t(i % 3 + 1);
        std::vector<std::int64_t> b =
            r == root ? values(root, i, count) : std::vector<std::int64_t>(count, -1);
        broadcast(comm, b, root, algo::slots);
        bad += b != values(root, i, count);

        // More reduces in a row than a rank has small slots (parts of 40 bytes), or large ones
        // (560 bytes), to changing roots: the others post and go on.
        const bool small = i % 2 == 0;
        const int in_a_row = small ? static_cast<int>(inprocess::detail::small_depth) + 3
                                   : 2 * static_cast<int>(inprocess::detail::large_depth);
        const std::size_t reduced = small ? 5 : 70;
        static_assert(5 * sizeof(std::int64_t) <= inprocess::detail::small_capacity);
        static_assert(70 * sizeof(std::int64_t) > inprocess::detail::small_capacity);
        for (int k = 0; k < in_a_row; ++k) {
          const int reduce_root = (i * 7 + k / 4 + 1) % p;
          const auto in = values(r, i + k, reduced);
          std::vector<std::int64_t> out(reduced, -1);
          reduce(comm, in, out, reduce_root, sum{}, algo::slots);
          if (r == reduce_root)
            for (std::size_t j = 0; j < reduced; ++j) bad += out[j] != sum_over_ranks(p, i + k, j);
          else
            bad += out != std::vector<std::int64_t>(reduced, -1);  // untouched off the root
        }

        // Gathering rounds between them.
        std::vector<std::int64_t> all = values(r, i, 3);
        all_reduce(comm, all, sum{}, algo::slots);
        for (std::size_t j = 0; j < 3; ++j) bad += all[j] != sum_over_ranks(p, i, j);

        const std::size_t per_rank = 2;
        const auto whole = values(r, i, per_rank * static_cast<std::size_t>(p));
        std::vector<std::int64_t> part(per_rank, -1);
        reduce_scatter(comm, whole, part, sum{}, algo::slots);
        for (std::size_t j = 0; j < per_rank; ++j)
          bad += part[j] != sum_over_ranks(p, i, static_cast<std::size_t>(r) * per_rank + j);

        std::vector<std::int64_t> gathered(static_cast<std::size_t>(p), -1);
        all_gather(comm, std::vector<std::int64_t>{value(r, i, 0)}, gathered, algo::slots);
        for (int q = 0; q < p; ++q) bad += gathered[static_cast<std::size_t>(q)] != value(q, i, 0);
      }
    });
    CHECK(std::accumulate(wrong.begin(), wrong.end(), 0) == 0);
  }
}

TEST_CASE("reduce_scatter slots: uneven counts and many rounds, in place too, exact") {
  for (int p : {2, 3, 8}) {
    CAPTURE(p);
    // Rank q's segment has 300 x q + 1 elements: 8 ranks' input is 8408 int64, seventeen rounds of
    // a 4 KiB slot, and segments that start and end inside rounds.
    std::vector<std::size_t> counts(static_cast<std::size_t>(p));
    for (int q = 0; q < p; ++q) counts[static_cast<std::size_t>(q)] = 300 * std::size_t(q) + 1;
    const std::size_t total = std::accumulate(counts.begin(), counts.end(), std::size_t{0});
    inprocess::launch(p, [&](inprocess::Communicator& comm) {
      const int r = comm.rank();
      const auto in = values(r, 7, total);
      std::vector<std::int64_t> out(counts[static_cast<std::size_t>(r)], -1);
      reduce_scatter_v(comm, in, out, counts, sum{}, algo::slots);
      std::size_t begin = 0;
      for (int q = 0; q < r; ++q) begin += counts[static_cast<std::size_t>(q)];
      int bad = 0;
      for (std::size_t j = 0; j < out.size(); ++j) bad += out[j] != sum_over_ranks(p, 7, begin + j);
      CHECK(bad == 0);

      auto data = values(r, 9, 600 * static_cast<std::size_t>(p));  // in place, even segments
      const auto mine = reduce_scatter(comm, data, sum{}, algo::slots);
      bad = 0;
      for (std::size_t j = 0; j < mine.size(); ++j)
        bad += mine[j] != sum_over_ranks(p, 9, 600 * static_cast<std::size_t>(r) + j);
      CHECK(bad == 0);
    });
  }
}

TEST_CASE("reduce slots: a count that differs is the root's mismatch, naming the peer") {
  std::vector<std::optional<Error>> errors(3);
  try {
    inprocess::launch(3,
                      [&](inprocess::Communicator& comm) {
                        std::vector<float> in(comm.rank() == 2 ? 3 : 4, 1.5f), out(4);
                        errors[static_cast<std::size_t>(comm.rank())] =
                            error_from([&] { reduce(comm, in, out, 0, sum{}, algo::slots); });
                      },
                      {.timeout = std::chrono::seconds(20)});
  } catch (const Error&) {
  }
  // The others posted their parts and returned, as an MPI rank's send completes without a check
  // of the receiver's count: only the root reads the sizes.
  REQUIRE(errors[0]);
  CHECK(errors[0]->kind() == ErrorKind::mismatch);
  CHECK(errors[0]->peer() == 2);
}

TEST_CASE("broadcast slots: a root that returns without calling is a mismatch naming it") {
  std::vector<std::optional<Error>> errors(3);
  inprocess::launch(3,
                    [&](inprocess::Communicator& comm) {
                      if (comm.rank() == 1) return;  // the root never posts
                      std::vector<double> data(4, 1.0);
                      errors[static_cast<std::size_t>(comm.rank())] =
                          error_from([&] { broadcast(comm, data, 1, algo::slots); });
                    },
                    {.timeout = std::chrono::seconds(20)});
  int named = 0;
  for (std::size_t r : {0u, 2u}) {
    CAPTURE(r);
    REQUIRE(errors[r]);
    CHECK((errors[r]->kind() == ErrorKind::mismatch || errors[r]->kind() == ErrorKind::aborted));
    named += errors[r]->kind() == ErrorKind::mismatch && errors[r]->peer() == 1;
  }
  CHECK(named >= 1);
}

TEST_CASE("reduce slots: a writer that ran ahead waits for a root that never comes, and names it") {
  // Rank 1 posts to root 0 until its next round would overwrite a small slot (8-byte parts) or a
  // large one (800-byte parts) that rank 0 (gone) has not read: it must not, and says who it
  // waited for.
  for (const std::size_t count : {std::size_t{2}, std::size_t{200}}) {
    CAPTURE(count);
    const std::uint32_t depth = count * sizeof(float) <= inprocess::detail::small_capacity
                                    ? inprocess::detail::small_depth
                                    : inprocess::detail::large_depth;
    std::optional<Error> error;
    inprocess::launch(2,
                      [&](inprocess::Communicator& comm) {
                        if (comm.rank() == 0) return;
                        std::vector<float> in(count, 1.0f), out(count);
                        error = error_from([&] {
                          for (std::uint32_t i = 0; i <= depth; ++i)
                            reduce(comm, in, out, 0, sum{}, algo::slots);
                        });
                      },
                      {.timeout = std::chrono::seconds(20)});
    REQUIRE(error);
    CHECK(error->kind() == ErrorKind::mismatch);
    CHECK(error->peer() == 0);
  }
}
