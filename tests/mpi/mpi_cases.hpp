#pragma once
// The property matrix for a job of fixed size (the launcher's -n). Full scale: every algorithm x
// small counts {0, 1, 7, random} x both buffer forms, per type and op, plus a large-count sample.
// Reduced scale (COLT_TEST_SCALE=reduced, for 3-4 ranks on 2 cores where MPICH's busy-polling
// makes every step cost milliseconds): one count and form per algorithm, cycling through them.

#include <cstdint>
#include <random>
#include <vector>

#include "matrix.hpp"
#include "mpi_world.hpp"

namespace colt::test {

inline int world_size() { return world().size(); }

template <class Fn>
void for_world_cases(std::uint64_t salt, const std::vector<Algorithm>& algorithms, Fn&& fn) {
  std::mt19937_64 rng(base_seed() ^ salt);
  const int p = world_size();
  static int rotation = 0;  // successive calls (types, ops) start at different counts
  int turn = rotation++;
  for (Algorithm algorithm : algorithms) {
    const auto counts = small_counts(rng);
    for (std::size_t i = 0; i < counts.size(); ++i)
      for (bool in_place : {false, true}) {
        Case c{p, counts[i], in_place, algorithm, static_cast<int>(rng() % static_cast<unsigned>(p)), rng()};
        const bool chosen = !reduced_scale() ||
                            (i == static_cast<std::size_t>(turn) % counts.size() && in_place == (turn % 2 == 1));
        if (chosen) fn(c);
      }
    ++turn;
  }
}

// Large counts: sample index k (one per type x op pair) picks algorithm and form in turn; at
// reduced scale one in four is kept.
inline bool world_large_case(int k, const std::vector<Algorithm>& algorithms, std::uint64_t salt, Case& c) {
  c = large_case(k, algorithms, salt);
  c.ranks = world_size();
  c.root = static_cast<int>(c.seed % static_cast<unsigned>(c.ranks));
  return keep_large(k);
}

}  // namespace colt::test
