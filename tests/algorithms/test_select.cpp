#include <doctest/doctest.h>

#include <cstdlib>
#include <string_view>

#include "colt/algorithms/select.hpp"

using namespace colt;

// Registered twice by meson: without COLT_ALGO, and with COLT_ALGO=tree.
TEST_CASE("plan: the tuning table, per-call forcing and COLT_ALGO") {
  const char* env = std::getenv("COLT_ALGO");
  const bool forced_tree = env && std::string_view(env) == "tree";
  constexpr std::size_t KiB = 1024, MiB = 1024 * KiB;

  // A per-call choice always wins.
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 4, true, algo::direct).algorithm == Algorithm::direct);
  CHECK(plan(CollectiveKind::all_reduce, 8, 4, false, algo::ring).algorithm == Algorithm::ring);

  if (forced_tree) {
    CHECK(algorithm_from_environment() == Algorithm::tree);
    CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 4, true).algorithm == Algorithm::tree);
    CHECK(plan(CollectiveKind::broadcast, 8, 2, false).algorithm == Algorithm::tree);
    // Collectives without a tree keep their automatic choice.
    CHECK(plan(CollectiveKind::scatter, 8, 4, true).algorithm == Algorithm::direct);
    CHECK(plan(CollectiveKind::all_gather, 64 * MiB, 4, false).algorithm == Algorithm::ring);
  } else {
    CHECK(algorithm_from_environment() == Algorithm::automatic);
    CHECK(plan(CollectiveKind::all_reduce, 8, 8, true).algorithm == Algorithm::tree);
    CHECK(plan(CollectiveKind::all_reduce, 256 * KiB, 8, true).algorithm == Algorithm::direct);
    CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 2, true).algorithm == Algorithm::ring);
    CHECK(plan(CollectiveKind::all_reduce, 8, 8, false).algorithm == Algorithm::tree);
    CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 8, false).algorithm == Algorithm::ring);
    CHECK(plan(CollectiveKind::reduce_scatter, 64 * MiB, 8, true).algorithm == Algorithm::direct);
    CHECK(plan(CollectiveKind::reduce_scatter, 64 * MiB, 8, false).algorithm == Algorithm::ring);
  }
  CHECK(plan(CollectiveKind::all_reduce, 64 * MiB, 8, false).chunk_bytes > 0);
}

TEST_CASE("supports: which collective has which algorithm") {
  for (auto kind : {CollectiveKind::all_reduce, CollectiveKind::reduce_scatter, CollectiveKind::all_gather,
                    CollectiveKind::broadcast, CollectiveKind::reduce, CollectiveKind::scatter, CollectiveKind::gather}) {
    CHECK(supports(kind, algo::automatic));
    CHECK(supports(kind, algo::direct));
  }
  CHECK(supports(CollectiveKind::all_reduce, algo::ring));
  CHECK(supports(CollectiveKind::all_reduce, algo::tree));
  CHECK(supports(CollectiveKind::reduce_scatter, algo::ring));
  CHECK_FALSE(supports(CollectiveKind::reduce_scatter, algo::tree));
  CHECK_FALSE(supports(CollectiveKind::broadcast, algo::ring));
  CHECK_FALSE(supports(CollectiveKind::scatter, algo::tree));
}
