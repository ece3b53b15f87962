// The collective property suite over the UCX transport with in-process bootstrap: 1..8 ranks as
// threads, each driving its own UCP worker (UCX chooses shared memory between them).
// tests/ucx/meson.build runs each case as a test of its own, by the word after "ucx " in its
// name: a new case needs a new word there.
#include <doctest/doctest.h>

#include <cstdlib>

#include "rank_suite.hpp"
#include "sharded_cases.hpp"
#include "ucx_world.hpp"

using namespace colt;
using namespace colt::test;

namespace {

template <class Part>
void on_every_rank_count(Part&& part) {
  for (int ranks = 1; ranks <= max_ranks; ++ranks) {
    INFO("ranks=" << ranks);
    run_ucx_world(ranks, part);
  }
}

}  // namespace

TEST_CASE("ucx all_reduce: every algorithm x small counts x type x op x form, and large counts") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::all_reduce_part(w); });
}

TEST_CASE("ucx two_level all_reduce: hierarchical and node_leaders on emulated nodes") {
  ::setenv("COLT_RANKS_PER_NODE", "2", 1);  // read as each world is made
  for (int ranks : {3, 4}) {                // 2 nodes of 2 and 1 rank, then of 2 and 2
    INFO("ranks=" << ranks);
    run_ucx_world(ranks, [](UcxThreadWorld& w) { suite::two_level_part(w); });
  }
  ::unsetenv("COLT_RANKS_PER_NODE");
}

// The hybrid communicator (transport/hybrid.hpp): thread ranks on the in-process path within a
// "process", UCX across, with the nodes known, so that automatic calls plan the two-level
// algorithms too; nodes of 2 also run the two-level part, and every shape runs split and dup.
TEST_CASE("ucx hybrid: threads within a process, UCX across, every collective") {
  for (const auto& [processes, threads] : {std::pair{2, 2}, std::pair{3, 2}}) {
    INFO("processes=" << processes << " threads=" << threads);
    run_hybrid_world(processes, threads, [&](HybridWorld& w) {
      // The in-process path reaches exactly this process's ranks.
      for (int r = 0; r < w.comm().size(); ++r)
        CHECK(w.comm().transport().same_process(r) == (r / threads == w.comm().rank() / threads));
      w.comm().nodes();
      suite::all_reduce_part(w);
      suite::reduce_scatter_part(w);
      suite::all_gather_part(w);
      suite::broadcast_reduce_part(w);
      suite::send_recv_part(w);
      suite::split_dup_part(w);
      suite::started_part(w);
      if (threads == 2) suite::two_level_part(w);
    });
  }
}

TEST_CASE("ucx reduce_scatter and reduce_scatter_v") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::reduce_scatter_part(w); });
}

TEST_CASE("ucx all_gather and all_gather_v") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::all_gather_part(w); });
}

TEST_CASE("ucx broadcast and reduce: every root-taking algorithm") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::broadcast_reduce_part(w); });
}

TEST_CASE("ucx scatter, scatter_v, gather, gather_v") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::scatter_gather_part(w); });
}

TEST_CASE("ucx barrier: nobody leaves before everybody arrived") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::barrier_part(w); });
}

TEST_CASE("ucx send/recv and split/dup") {
  on_every_rank_count([](UcxThreadWorld& w) {
    suite::send_recv_part(w);
    suite::split_dup_part(w);
  });
}

TEST_CASE("ucx started calls: collectives outstanding at once, receives before sends") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::started_part(w); });
}

TEST_CASE("ucx all_to_all and all_to_all_v") {
  on_every_rank_count([](UcxThreadWorld& w) { suite::all_to_all_part(w); });
}

// ShardedDataParallel over UCX (tests/support/sharded_cases.hpp). UCX communicators are not
// driven from two threads, so this is the adapter's path without started calls: gathers in the
// hooks, reduce-scatters at hooks and in synchronize, all blocking, in the same order on every
// rank.
TEST_CASE("ucx sharded data parallel: averaged step, training against DataParallel, checkpoint") {
  for (int ranks = 2; ranks <= 3; ++ranks) {
    INFO("ranks=" << ranks);
    run_ucx_world(ranks, [](UcxThreadWorld& w) {
      w.ucx.set_ordered(true);
      for (int stage = 1; stage <= 3; ++stage) {
        sharded::AverageCase c;
        c.options.stage = stage;
        c.options.bucket_cap_bytes = 64;
        c.options.weighted = c.unequal_weights = true;
        c.unused = true;
        const std::string label = "stage " + std::to_string(stage);
        const std::string step = sharded::average_step(w.ucx, c, 0.0);
        CHECK_MESSAGE(step.empty(), label << " averaged step: " << step);
        const std::string training = sharded::against_plain(w.ucx, stage, 0.0);
        CHECK_MESSAGE(training.empty(), label << " training: " << training);
        const std::string prefix = w.shared_directory() + "/shards" + std::to_string(stage);
        const ModelState saved = sharded::train_and_save(w.ucx, stage, prefix);
        // The files load onto the in-process group of the same threads, compared at rank 0.
        const std::string loaded =
            sharded::load_and_compare(w.bootstrap, 4 - stage, prefix, w.ucx.size(), saved);
        CHECK_MESSAGE(loaded.empty(), label << " checkpoint: " << loaded);
      }
    });
  }
}
