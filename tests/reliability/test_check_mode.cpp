// Argument checking (CommunicatorOptions::check, COLT_CHECK=1): calls that differ between ranks
// fail on every rank at the first wrong call, listing each rank's call, instead of hanging or
// mixing buffers; the communicator stays usable afterwards. Every collective passes the check
// when the calls agree.
#include <doctest/doctest.h>

#include <chrono>
#include <latch>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "colt/colt.hpp"
#include "errors.hpp"
#include "wall_time.hpp"

using namespace colt;
using colt::test::error_from;
using colt::test::error_kind;
using namespace std::chrono_literals;

namespace {

// Runs `bad(comm)` on every rank with checking on; every rank must throw a colt::Error within a
// second (the timeout is 20 s), of kind mismatch (invalid argument on a rank whose own checks
// failed), whose listing of the ranks' calls contains each of `expected`; then a matching call
// on the same communicator must succeed.
template <class Bad>
void expect_every_rank_fails(int p, Bad bad, std::vector<std::string> expected) {
  std::vector<std::string> errors(static_cast<std::size_t>(p));
  std::vector<std::optional<ErrorKind>> kinds(static_cast<std::size_t>(p));
  std::mutex mutex;
  inprocess::launch(p,
                    [&](inprocess::Communicator& comm) {
                      const auto start = Clock::now();
                      try {
                        bad(comm);
                      } catch (const Error& e) {
                        std::lock_guard lock(mutex);
                        errors[static_cast<std::size_t>(comm.rank())] = e.cause();
                        kinds[static_cast<std::size_t>(comm.rank())] = e.kind();
                      }
                      const double seconds =
                          std::chrono::duration<double>(Clock::now() - start).count();
                      CHECK(seconds < test::scheduling_slack_s);  // not the 20 s timeout
                      CHECK(!comm.broken());
                      std::vector<int> ok(3, comm.rank() + 1);
                      all_reduce(comm, ok, sum{});
                      CHECK(ok[0] == p * (p + 1) / 2);
                    },
                    {.timeout = 20s, .check = true});
  for (int r = 0; r < p; ++r) {
    const std::string& e = errors[static_cast<std::size_t>(r)];
    CAPTURE(r);
    CAPTURE(e);
    const auto kind = kinds[static_cast<std::size_t>(r)];
    CHECK((kind == ErrorKind::mismatch || kind == ErrorKind::invalid_argument));
    for (const auto& text : expected) CHECK(e.find(text) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("check: mismatched counts are reported on every rank, listing every rank's call") {
  expect_every_rank_fails(
      4,
      [](auto& comm) {
        std::vector<float> data(comm.rank() == 3 ? 99 : 100, 1.0f);
        all_reduce(comm, data, sum{});
      },
      {"rank 0: all_reduce(count 100, float32, sum", "rank 3: all_reduce(count 99, float32, sum"});
}

TEST_CASE("check: mismatched op, type, root, algorithm and collective") {
  expect_every_rank_fails(
      3,
      [](auto& comm) {
        std::vector<float> data(8, 1.0f);
        if (comm.rank() == 1)
          all_reduce(comm, data, max{});
        else
          all_reduce(comm, data, sum{});
      },
      {"rank 1: all_reduce(count 8, float32, max", "rank 2: all_reduce(count 8, float32, sum"});
  expect_every_rank_fails(2,
                          [](auto& comm) {
                            if (comm.rank() == 0) {
                              std::vector<double> data(8, 1.0);
                              all_reduce(comm, data, sum{});
                            } else {
                              std::vector<float> data(8, 1.0f);
                              all_reduce(comm, data, sum{});
                            }
                          },
                          {"float64", "float32"});
  expect_every_rank_fails(
      4,
      [](auto& comm) {
        std::vector<std::int64_t> data(5, 7);
        broadcast(comm, data, comm.rank() == 2 ? 1 : 0);
      },
      {"rank 2: broadcast(count 5, int64, root 1", "rank 0: broadcast(count 5, int64, root 0"});
  expect_every_rank_fails(2,
                          [](auto& comm) {
                            std::vector<float> data(8, 1.0f);
                            all_reduce(comm, data, sum{},
                                       comm.rank() == 0 ? algo::ring : algo::tree);
                          },
                          {"algorithm ring", "algorithm tree"});
  expect_every_rank_fails(3,
                          [](auto& comm) {
                            std::vector<float> data(6, 1.0f);
                            if (comm.rank() == 2)
                              broadcast(comm, data, 0);
                            else
                              all_reduce(comm, data, sum{});
                          },
                          {"rank 2: broadcast(", "rank 0: all_reduce("});
  expect_every_rank_fails(2,
                          [](auto& comm) {
                            std::vector<float> data(6, 1.0f);
                            if (comm.rank() == 1)
                              barrier(comm);
                            else
                              all_reduce(comm, data, sum{});
                          },
                          {"rank 1: barrier(", "rank 0: all_reduce("});
}

TEST_CASE("check: per-rank counts of the v forms must agree") {
  expect_every_rank_fails(
      3,
      [](auto& comm) {
        std::vector<std::size_t> counts = {2, 3,
                                           comm.rank() == 0 ? std::size_t{4} : std::size_t{5}};
        std::vector<float> in(counts[static_cast<std::size_t>(comm.rank())], 1.0f), out(20);
        all_gather_v(comm, in, out, counts);
      },
      {"counts #", "rank 0: all_gather_v(count 9", "rank 1: all_gather_v(count 10"});
}

TEST_CASE("check: a rank whose own checks fail takes the others down with it") {
  expect_every_rank_fails(3,
                          [](auto& comm) {
                            std::vector<float> in(4, 1.0f), out(comm.rank() == 1 ? 11 : 12);
                            all_gather(comm, in, out);
                          },
                          // The calls agree: the rank whose own checks failed is named, not
                          // three identical calls.
                          {"rank(s) 1 found this call's arguments wrong"});
  // ... and the failing rank says what its own problem was.
  inprocess::launch(
      2,
      [](inprocess::Communicator& comm) {
        std::vector<float> data(4, 1.0f);
        const int root = comm.rank() == 0 ? 5 : 0;
        if (comm.rank() == 0)
          CHECK(error_kind([&] { broadcast(comm, data, root); }) == ErrorKind::invalid_argument);
        else
          CHECK(error_kind([&] { broadcast(comm, data, root); }) == ErrorKind::mismatch);
      },
      {.timeout = 20s, .check = true});
}

TEST_CASE("check: every collective passes when the calls agree, and gives the right result") {
  for (int p : {1, 2, 3, 5}) {
    CAPTURE(p);
    inprocess::launch(
        p,
        [p](inprocess::Communicator& comm) {
          const auto n = static_cast<std::size_t>(p), r = static_cast<std::size_t>(comm.rank());
          std::vector<std::int32_t> v(2 * n, static_cast<std::int32_t>(r + 1)), out(2 * n), part(2);
          all_reduce(comm, v, out, sum{});
          CHECK(out[0] == static_cast<std::int32_t>(n * (n + 1) / 2));
          reduce_scatter(comm, v, part, sum{});
          CHECK(part[1] == static_cast<std::int32_t>(n * (n + 1) / 2));
          all_gather(comm, std::span(v).first(2), out);
          CHECK(out[2 * n - 1] == static_cast<std::int32_t>(n));
          broadcast(comm, v, 0);
          CHECK(v[0] == 1);
          std::vector<std::int32_t> rooted(3);
          reduce(comm, std::vector<std::int32_t>(3, 2), rooted, 0, max{});
          if (r == 0) CHECK(rooted[0] == 2);
          std::vector<std::size_t> counts(n, 1);
          counts[0] = 3;
          std::vector<std::int32_t> mine(counts[r], static_cast<std::int32_t>(r)), all(n + 2);
          all_gather_v(comm, mine, all, counts);
          CHECK(all.back() == static_cast<std::int32_t>(n - 1));
          gather_v(comm, mine, all, counts, 0);
          scatter_v(comm, all, mine, counts, 0);
          CHECK(mine[0] == static_cast<std::int32_t>(r));
          std::vector<std::int32_t> one(1, 9), many(n);
          gather(comm, one, many, 0);
          scatter(comm, many, one, 0);
          reduce_scatter_v(comm, std::vector<std::int32_t>(n + 2, 1), mine, counts, sum{});
          CHECK(mine[0] == static_cast<std::int32_t>(n));
          barrier(comm);
          CHECK(comm.calls() == 12);
        },
        {.timeout = 20s, .check = true});
  }
}

// Without argument checking, ranks that call different collectives (issue 34): the kind of call
// travels with its messages and slot rounds, so every rank fails well before the 20 s timeout,
// with a mismatch where it saw the other call, or an abort that carries that mismatch where a
// peer saw it first. Each rank then waits for the others before it returns, so that no wait
// ends only because a peer's thread finished. A writer of a rooted slot round (a small
// broadcast's root, a small reduce's other ranks) posts and returns, as an eager MPI send does:
// its call may succeed, and then its next call on the communicator fails.
namespace {

template <class Calls>
void expect_mismatch_on_every_rank(int p, Calls calls) {
  std::vector<std::optional<Error>> errors(static_cast<std::size_t>(p));
  std::vector<double> seconds(static_cast<std::size_t>(p));
  std::latch all_done(p);
  inprocess::launch(p,
                    [&](inprocess::Communicator& comm) {
                      const auto r = static_cast<std::size_t>(comm.rank());
                      const auto start = Clock::now();
                      errors[r] = error_from([&] {
                        calls(comm);
                        barrier(comm);  // a writer that returned learns of it here
                      });
                      seconds[r] = test::seconds_since(start);
                      all_done.arrive_and_wait();
                    },
                    {.timeout = 20s, .check = false});
  for (int r = 0; r < p; ++r) {
    const auto& e = errors[static_cast<std::size_t>(r)];
    CAPTURE(r);
    CAPTURE(test::text_of(e));
    REQUIRE(e);
    CHECK((e->kind() == ErrorKind::mismatch || e->kind() == ErrorKind::aborted));
    CHECK(std::string(e->what()).find("different collectives") != std::string::npos);
    CHECK(seconds[static_cast<std::size_t>(r)] < test::scheduling_slack_s);  // not the timeout
  }
}

// Rank 0 all-reduces `count` floats; every other rank broadcasts `count` floats from `root`.
void all_reduce_against_broadcast(int p, std::size_t count, int root, Algorithm algorithm) {
  CAPTURE(p);
  CAPTURE(count);
  CAPTURE(root);
  CAPTURE(name_of(algorithm));
  expect_mismatch_on_every_rank(p, [&](inprocess::Communicator& comm) {
    std::vector<float> data(count, 1.0f + static_cast<float>(comm.rank()));
    if (comm.rank() == 0)
      all_reduce(comm, data, sum{}, algorithm);
    else  // broadcast has no ring
      broadcast(comm, data, root, algorithm == Algorithm::ring ? Algorithm::tree : algorithm);
  });
}

}  // namespace

TEST_CASE("no check: all_reduce on one rank, broadcast on the other, fails on both at once") {
  // 1,000 floats go in slot rounds, 100,000 in messages (the two cases issue 34 found).
  for (const std::size_t count : {std::size_t{1000}, std::size_t{100000}})
    all_reduce_against_broadcast(2, count, 0, Algorithm::automatic);
  // The broadcast's root posts its slot round and returns; its next call fails.
  all_reduce_against_broadcast(2, 8, 1, Algorithm::automatic);
  // A slot round against messages.
  expect_mismatch_on_every_rank(2, [](inprocess::Communicator& comm) {
    std::vector<float> data(comm.rank() == 0 ? 2 : 100000, 1.0f);
    if (comm.rank() == 0)
      all_reduce(comm, data, sum{});
    else
      broadcast(comm, data, 0);
  });
}

TEST_CASE("no check: different collectives on 3 and 4 ranks, every algorithm") {
  for (const Algorithm a : {Algorithm::ring, Algorithm::tree, Algorithm::direct, Algorithm::slots})
    for (const int root : {0, 2}) all_reduce_against_broadcast(3, 3000, root, a);
  expect_mismatch_on_every_rank(4, [](inprocess::Communicator& comm) {
    std::vector<double> in(40, 0.5), out(40 * 4);
    if (comm.rank() == 2)
      reduce(comm, in, out, 0, sum{});
    else
      all_gather(comm, in, out);
  });
  expect_mismatch_on_every_rank(3, [](inprocess::Communicator& comm) {
    std::vector<int> data(7, comm.rank());
    if (comm.rank() == 1)
      barrier(comm);
    else
      all_reduce(comm, data, max{});
  });
}
