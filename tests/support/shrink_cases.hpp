#pragma once
// Losing ranks and going on: the cases every transport that can shrink runs (tests/reliability
// in-process, tests/ucx over UCX). `launch(ranks, fn)` runs fn(comm) on every rank, as
// colt::inprocess::launch_surviving does, and returns each rank's exception.

#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <stdexcept>
#include <vector>

#include "colt/collectives/all_reduce.hpp"
#include "colt/core/error.hpp"
#include "random.hpp"

namespace colt::test {

// Thrown by a rank that is made to die; its thread ends (its process, in a real job).
struct Killed : std::runtime_error {
  Killed() : std::runtime_error("killed by the test") {}
};

struct LossCase {
  int ranks = 4;
  std::set<int> die_at_call_3;  // these ranks die when they reach call 3
  int die_in_recovery = -1;     // this rank dies on catching the first error
};

struct LossOutcome {
  std::vector<std::optional<Error>> first_error;  // per launch rank
  std::vector<int> final_size;                    // per launch rank, -1 for the dead
  std::vector<std::vector<float>> result;         // the survivors' last all_reduce
  std::vector<std::exception_ptr> failures;
  double seconds = 0;
};

// Each rank all-reduces random data until the case's ranks die; the survivors shrink until a
// call succeeds on the rest, then all-reduce fresh random data once more.
template <class Launch>
LossOutcome lose_ranks(Launch&& launch, const LossCase& c) {
  const auto n = static_cast<std::size_t>(c.ranks);
  LossOutcome out{std::vector<std::optional<Error>>(n),
                  std::vector<int>(n, -1),
                  std::vector<std::vector<float>>(n),
                  {},
                  0};
  const std::uint64_t seed = base_seed();
  const auto started = std::chrono::steady_clock::now();
  out.failures = launch(c.ranks, [&](auto& comm) {
    comm.identify_failures();
    const int me = comm.rank();
    const auto mine = static_cast<std::size_t>(me);
    std::mt19937_64 rng(seed + static_cast<std::uint64_t>(me));
    std::vector<float> data = random_buffer<float>(rng, 1009);
    try {
      for (int call = 0; call < 50; ++call) {
        if (call == 3 && c.die_at_call_3.count(me)) throw Killed();
        all_reduce(comm, std::span(data), sum{});
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      return;  // nobody died
    } catch (const Error& e) {
      out.first_error[mine] = e;
    }
    if (me == c.die_in_recovery) throw Killed();
    auto survivors = comm.shrink();
    for (int attempt = 0;; ++attempt) {
      std::vector<float> fresh = random_buffer<float>(rng, 1009);
      try {
        all_reduce(survivors, std::span(fresh), sum{});
        out.result[mine] = fresh;
        out.final_size[mine] = survivors.size();
        return;
      } catch (const Error&) {
        if (attempt == 3) throw;
        survivors = survivors.shrink();
      }
    }
  });
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

// What every case must show: the dead ended by the test, the survivors named a dead rank in
// their first error, shrank to the living, and agree bit for bit.
inline void check_loss(const LossCase& c, const LossOutcome& out) {
  std::set<int> dead = c.die_at_call_3;
  if (c.die_in_recovery >= 0) dead.insert(c.die_in_recovery);
  const int alive = c.ranks - static_cast<int>(dead.size());
  const std::vector<float>* reference = nullptr;
  for (int r = 0; r < c.ranks; ++r) {
    CAPTURE(r);
    const auto q = static_cast<std::size_t>(r);
    if (dead.count(r)) {
      CHECK(out.failures[q] != nullptr);
      continue;
    }
    CHECK(out.failures[q] == nullptr);
    REQUIRE(out.first_error[q].has_value());
    const Error& e = *out.first_error[q];
    INFO(e.what());
    CHECK(e.kind() == ErrorKind::peer_failed);
    if (!c.die_at_call_3.empty()) CHECK(c.die_at_call_3.count(e.peer()) == 1);
    CHECK(out.final_size[q] == alive);
    if (!reference) reference = &out.result[q];
    CHECK(std::memcmp(reference->data(), out.result[q].data(), reference->size() * 4) == 0);
  }
}

}  // namespace colt::test
