// The two-level all_reduce algorithms (algorithms/hierarchical.hpp) on in-process ranks grouped
// into emulated nodes (CommunicatorOptions::ranks_per_node, as COLT_RANKS_PER_NODE): every rank
// count 1..8 with 1 to 4 ranks per node (so nodes of equal and of different sizes, where
// `hierarchical` runs as node_leaders), against the plain reference, bitwise identical on every
// rank. collectives/all_reduce runs both on ranks that know no nodes (one node: the node level
// alone).
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "colt/collectives/all_reduce.hpp"
#include "colt/transport/inprocess.hpp"
#include "matrix.hpp"
#include "random.hpp"
#include "reference.hpp"

using namespace colt;
using namespace colt::test;

namespace {

const std::vector<Algorithm> two_level = {algo::hierarchical, algo::node_leaders, algo::automatic};

struct NodeCase {
  Algorithm algorithm;
  std::size_t count;
  bool in_place;
  std::uint64_t seed;
};

// Every case of one type and op on `ranks` ranks, `per_node` to a node, in one launch; each
// case's result on every rank, after all of them ran.
template <class T, class Op>
void check_on_nodes(int ranks, int per_node, const std::vector<NodeCase>& cases) {
  INFO("ranks=" << ranks << " per_node=" << per_node << " " << name_of(data_type_of<T>) << " "
                << Op::name);
  const auto p = static_cast<std::size_t>(ranks);
  std::vector<std::vector<std::vector<T>>> inputs(cases.size()), outputs(cases.size());
  for (std::size_t k = 0; k < cases.size(); ++k) {
    std::mt19937_64 rng(cases[k].seed);
    for (std::size_t r = 0; r < p; ++r)
      inputs[k].push_back(random_buffer<T, Op>(rng, cases[k].count));
    outputs[k].resize(p);
  }
  CommunicatorOptions options;
  options.ranks_per_node = per_node;
  inprocess::launch(
      ranks,
      [&](inprocess::Communicator& comm) {
        const auto r = static_cast<std::size_t>(comm.rank());
        comm.nodes();  // learnt once: the two-level algorithms and plan() use it from now on
        for (std::size_t k = 0; k < cases.size(); ++k) {
          const NodeCase& c = cases[k];
          std::vector<T>& out = outputs[k][r];
          if (c.in_place) {
            out = inputs[k][r];
            all_reduce(comm, out, Op{}, c.algorithm);
          } else {
            std::mt19937_64 poison(c.seed + r);
            out = random_buffer<T>(poison, c.count);  // unwritten elements show up
            all_reduce(comm, inputs[k][r], out, Op{}, c.algorithm);
          }
        }
      },
      options);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    INFO("algorithm=" << name_of(cases[k].algorithm) << " count=" << cases[k].count
                      << " in_place=" << cases[k].in_place);
    const std::string wrong = Reference<T, Op>(inputs[k], 0, cases[k].count).check(outputs[k][0]);
    CHECK_MESSAGE(wrong.empty(), wrong);
    for (std::size_t r = 1; r < p; ++r)
      CHECK_MESSAGE(same_bits<T>(outputs[k][r], outputs[k][0]), "rank " << r << " differs");
  }
}

}  // namespace

TEST_CASE("hierarchical and node_leaders all_reduce: ranks 1..8 x 1-4 per node x small counts") {
  std::mt19937_64 rng(base_seed() ^ 0x2e7e1);
  int k = 0;
  for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
    for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
      for (int ranks = 1; ranks <= max_ranks; ++ranks) {
        // At reduced scale (the sanitizer builds, where launching rank threads is most of the
        // time) each type and op takes one rank count, and one count and form per algorithm,
        // in turn, so that together they still cover every one.
        const bool thin = reduced_scale();
        if (thin && ranks != 1 + k % max_ranks) continue;
        std::vector<NodeCase> cases;
        int turn = k;
        for (Algorithm algorithm : two_level) {
          const auto counts = small_counts(rng);
          for (std::size_t i = 0; i < counts.size(); ++i)
            for (bool in_place : {false, true})
              if (!thin || (i == std::size_t(turn) % counts.size() && in_place == (turn % 2 == 1)))
                cases.push_back({algorithm, counts[i], in_place, rng()});
          ++turn;
        }
        // Each type and op takes the rank counts with a different node size, so that together
        // they cover every pair.
        check_on_nodes<T, Op>(ranks, 1 + (ranks + k) % 4, cases);
      }
      ++k;
    });
  });
}

TEST_CASE("hierarchical all_reduce: large counts, several chunks per level") {
  // 2^20 + 3 floats: the node level's shards and the rails' chunks all cut unevenly.
  const std::size_t count = (std::size_t{1} << 20) + 3;
  for (int per_node : {2, 4, 3}) {
    if (reduced_scale() && per_node != 2) break;
    check_on_nodes<float, sum>(8, per_node, {{algo::hierarchical, count, false, base_seed() + 1}});
    check_on_nodes<float, avg>(8, per_node, {{algo::node_leaders, count, true, base_seed() + 2}});
    check_on_nodes<std::int64_t, sum>(6, per_node,
                                      {{algo::automatic, count, per_node == 2, base_seed() + 3}});
  }
}

TEST_CASE("plan() weighs the two-level algorithms once the communicator knows its nodes") {
  CommunicatorOptions options;
  options.ranks_per_node = 2;
  inprocess::launch(
      8,
      [](inprocess::Communicator& comm) {
        const std::size_t large = std::size_t{64} << 20;
        // Before nodes(): one node, where slots and the flat algorithms are all there is.
        CHECK(plan(CollectiveKind::all_reduce, 8, comm).algorithm == algo::slots);
        comm.nodes();
        const Plan tiny = plan(CollectiveKind::all_reduce, 8, comm);
        const Plan big = plan(CollectiveKind::all_reduce, large, comm);
        // Across nodes, shared slots are not a choice; the model's fastest is, and at 64 MiB on
        // 4 nodes of 2 that is the bandwidth-optimal two-level form (two_level.hpp: it moves
        // 1.5 n through each link where the flat ring moves 1.75 n, in 6 steps instead of 14).
        CHECK(tiny.algorithm != algo::slots);
        CHECK(tiny.reason == PlanReason::model);
        CHECK(big.algorithm == algo::hierarchical);
        CHECK(big.levels.inter != algo::automatic);
        // A dup knows the same nodes (DataParallel's communicator plans as its parent's does).
        auto twin = comm.dup();
        CHECK(twin.known_nodes() != nullptr);
        CHECK(plan(CollectiveKind::all_reduce, large, twin).algorithm == algo::hierarchical);
      },
      options);
}
