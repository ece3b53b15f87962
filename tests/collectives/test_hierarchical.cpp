// The two-level algorithms (algorithms/hierarchical.hpp: all_reduce, reduce_scatter, all_gather,
// broadcast, reduce) on in-process ranks grouped into emulated nodes
// (CommunicatorOptions::ranks_per_node, as COLT_RANKS_PER_NODE): every rank count 1..8 with 1 to 4
// ranks per node (so nodes of equal and of different sizes, where `hierarchical` runs as
// node_leaders), against the plain reference, bitwise identical on every rank.
// collectives/all_reduce runs both on ranks that know no nodes (one node: the node level alone).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/collectives/broadcast.hpp"
#include "colt/collectives/reduce.hpp"
#include "colt/collectives/reduce_scatter.hpp"
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
  std::size_t count;  // reduce_scatter, all_gather: per rank's block
  bool in_place;
  std::uint64_t seed;
  CollectiveKind kind = CollectiveKind::all_reduce;
  int root = 0;  // broadcast, reduce
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
    const std::size_t input =
        cases[k].count * (cases[k].kind == CollectiveKind::reduce_scatter ? p : 1);
    for (std::size_t r = 0; r < p; ++r) inputs[k].push_back(random_buffer<T, Op>(rng, input));
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
          const bool root = comm.rank() == c.root;
          std::mt19937_64 poison(c.seed + r);
          if (c.kind == CollectiveKind::broadcast) {
            out = root ? inputs[k][r] : random_buffer<T>(poison, c.count);
            broadcast(comm, out, c.root, c.algorithm);
          } else if (c.kind == CollectiveKind::reduce_scatter) {
            if (c.in_place) {
              std::vector<T> data = inputs[k][r];
              const std::span<T> mine = reduce_scatter(comm, data, Op{}, c.algorithm);
              out.assign(mine.begin(), mine.end());
            } else {
              out = random_buffer<T>(poison, c.count);
              reduce_scatter(comm, inputs[k][r], out, Op{}, c.algorithm);
            }
          } else if (c.kind == CollectiveKind::all_gather) {
            out = random_buffer<T>(poison, c.count * p);
            if (c.in_place) {
              std::copy(inputs[k][r].begin(), inputs[k][r].end(),
                        out.begin() + static_cast<std::ptrdiff_t>(r * c.count));
              all_gather(comm, out, c.algorithm);
            } else {
              all_gather(comm, inputs[k][r], out, c.algorithm);
            }
          } else if (c.kind == CollectiveKind::reduce) {
            out = c.in_place ? inputs[k][r] : random_buffer<T>(poison, c.count);
            if (c.in_place)
              reduce(comm, out, c.root, Op{}, c.algorithm);
            else
              reduce(comm, inputs[k][r], out, c.root, Op{}, c.algorithm);
          } else if (c.in_place) {
            out = inputs[k][r];
            all_reduce(comm, out, Op{}, c.algorithm);
          } else {
            out = random_buffer<T>(poison, c.count);  // unwritten elements show up
            all_reduce(comm, inputs[k][r], out, Op{}, c.algorithm);
          }
        }
      },
      options);
  for (std::size_t k = 0; k < cases.size(); ++k) {
    const NodeCase& c = cases[k];
    INFO(name_of(c.kind) << " algorithm=" << name_of(c.algorithm) << " count=" << c.count
                         << " in_place=" << c.in_place << " root=" << c.root);
    const auto root = static_cast<std::size_t>(c.root);
    if (c.kind == CollectiveKind::reduce_scatter) {  // rank r: block r of the reduction
      for (std::size_t r = 0; r < p; ++r) {
        const std::string wrong =
            Reference<T, Op>(inputs[k], r * c.count, c.count).check(outputs[k][r]);
        CHECK_MESSAGE(wrong.empty(), "rank " << r << ": " << wrong);
      }
      continue;
    }
    if (c.kind == CollectiveKind::all_gather) {
      std::vector<T> all;
      for (const auto& block : inputs[k]) all.insert(all.end(), block.begin(), block.end());
      for (std::size_t r = 0; r < p; ++r)
        CHECK_MESSAGE(same_bits<T>(outputs[k][r], all), "rank " << r);
      continue;
    }
    if (c.kind == CollectiveKind::broadcast) {
      for (std::size_t r = 0; r < p; ++r)
        CHECK_MESSAGE(same_bits<T>(outputs[k][r], inputs[k][root]), "rank " << r);
      continue;
    }
    const std::size_t checked = c.kind == CollectiveKind::reduce ? root : 0;
    const std::string wrong = Reference<T, Op>(inputs[k], 0, c.count).check(outputs[k][checked]);
    CHECK_MESSAGE(wrong.empty(), wrong);
    if (c.kind == CollectiveKind::reduce) {
      for (std::size_t r = 0; r < p; ++r) {  // the others' buffers are left alone
        std::mt19937_64 poison(c.seed + r);
        if (r != root)
          CHECK_MESSAGE(same_bits<T>(outputs[k][r],
                                     c.in_place ? inputs[k][r] : random_buffer<T>(poison, c.count)),
                        "rank " << r);
      }
      continue;
    }
    for (std::size_t r = 1; r < p; ++r)
      CHECK_MESSAGE(same_bits<T>(outputs[k][r], outputs[k][0]), "rank " << r << " differs");
  }
}

}  // namespace

TEST_CASE("two-level collectives: ranks 1..8 x 1-4 per node x small counts") {
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
        // broadcast and reduce: every root in turn (one root at reduced scale), both forms, a
        // random count.
        for (CollectiveKind kind : {CollectiveKind::broadcast, CollectiveKind::reduce})
          for (int root = 0; root < ranks; ++root)
            if (!thin || root == k % ranks)
              for (Algorithm algorithm : {algo::hierarchical, algo::automatic})
                cases.push_back({algorithm, 1 + rng() % 300, root % 2 == 1, rng(), kind, root});
        // reduce_scatter and all_gather: blocks of 0, 1 and a random count, both forms.
        for (CollectiveKind kind : {CollectiveKind::reduce_scatter, CollectiveKind::all_gather})
          for (std::size_t block : {std::size_t{0}, std::size_t{1}, 2 + rng() % 200})
            for (bool in_place : {false, true})
              if (!thin || in_place == (block % 2 == 1))
                cases.push_back({algo::hierarchical, block, in_place, rng(), kind});
        // Each type and op takes the rank counts with a different node size, so that together
        // they cover every pair.
        check_on_nodes<T, Op>(ranks, 1 + (ranks + k) % 4, cases);
      }
      ++k;
    });
  });
}

TEST_CASE("two-level collectives: large counts, several chunks per level") {
  // 2^20 + 3 floats: the node level's shards and the rails' chunks all cut unevenly.
  const std::size_t count = (std::size_t{1} << 20) + 3;
  for (int per_node : {2, 4, 3}) {
    if (reduced_scale() && per_node != 2) break;
    check_on_nodes<float, sum>(8, per_node, {{algo::hierarchical, count, false, base_seed() + 1}});
    check_on_nodes<float, avg>(8, per_node, {{algo::node_leaders, count, true, base_seed() + 2}});
    check_on_nodes<std::int64_t, sum>(6, per_node,
                                      {{algo::automatic, count, per_node == 2, base_seed() + 3}});
    check_on_nodes<float, avg>(
        7, per_node,
        {{algo::hierarchical, count, false, base_seed() + 4, CollectiveKind::reduce, 5},
         {algo::hierarchical, count, true, base_seed() + 5, CollectiveKind::broadcast, 3}});
    // reduce_scatter and all_gather: blocks of count / 8 + 1, each rail's several chunks.
    check_on_nodes<float, sum>(8, per_node,
                               {{algo::hierarchical, count / 8 + 1, per_node == 4, base_seed() + 6,
                                 CollectiveKind::reduce_scatter},
                                {algo::hierarchical, count / 8 + 1, per_node != 4, base_seed() + 7,
                                 CollectiveKind::all_gather}});
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
        // reduce_scatter and all_gather the same: (N-1)/N of the buffer through each link over
        // the rails, where the flat ring moves (p-1)/p, in N-1 steps instead of p-1.
        for (CollectiveKind kind : {CollectiveKind::reduce_scatter, CollectiveKind::all_gather}) {
          const Plan scattered = plan(kind, large, comm);
          CHECK(scattered.algorithm == algo::hierarchical);
          CHECK(scattered.levels.inter != algo::automatic);
        }
        // A dup knows the same nodes (DataParallel's communicator plans as its parent's does).
        auto twin = comm.dup();
        CHECK(twin.known_nodes() != nullptr);
        CHECK(plan(CollectiveKind::all_reduce, large, twin).algorithm == algo::hierarchical);
      },
      options);
}
