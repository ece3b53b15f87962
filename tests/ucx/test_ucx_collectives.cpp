// The collective property suite over the UCX transport with in-process bootstrap: 1..8 ranks as
// threads, each driving its own UCP worker (UCX chooses shared memory between them).
// tests/ucx/meson.build runs each case as a test of its own, by the word after "ucx " in its
// name: a new case needs a new word there.
#include <doctest/doctest.h>

#include "rank_suite.hpp"
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
