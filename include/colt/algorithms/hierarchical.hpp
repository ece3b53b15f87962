#pragma once
// Two-level algorithms: a collective run within each node, then across nodes, then within each
// node again, as MPICH's SMP-aware collectives, Open MPI's HAN and UCC's hierarchical component
// compose theirs. Each level is one of the flat algorithms (ring, tree, direct) run over a group
// of the call's ranks (Call::enter_group), so the same code, instantiated once, serves both
// levels on every transport. The levels' messages share the call's tag: each pair of ranks numbers
// its messages in posting order (primitives.hpp), and both ends post the levels in the same order.
//
// all_reduce, `hierarchical` (bandwidth: each level moves the least it can):
//   1. reduce-scatter within the node: local rank j holds shard j of the node's sum;
//   2. all-reduce of shard j across nodes, over rail j (local rank j of every node);
//   3. all-gather within the node.
//   It needs the same number of ranks M on every node (rail j has one rank on each); on nodes of
//   different sizes it runs node_leaders instead.
// all_reduce, `node_leaders` (latency: fewest hops across nodes):
//   1. reduce to local rank 0 (the node's leader) within the node;
//   2. all-reduce among the leaders across nodes;
//   3. broadcast from the leader within the node.
// Every rank ends with the bits the cross-node all-reduce gave its rail (or the leaders), which
// are the same on every member of it, and the last level copies them: bitwise identical on all
// ranks. Sums are grouped by node, so they are not in rank order: `ordered` never plans these.
// avg divides once, by every rank, in the cross-node level; the node level leaves sums
// unfinished (Call::finish_ranks).

#include <cstddef>
#include <span>
#include <vector>

#include "colt/algorithms/direct.hpp"
#include "colt/algorithms/primitives.hpp"
#include "colt/algorithms/ring.hpp"
#include "colt/algorithms/schedule/segments.hpp"
#include "colt/algorithms/tree.hpp"
#include "colt/core/node_map.hpp"
#include "colt/reduce/host.hpp"
#include "colt/reduce/memory.hpp"

namespace colt::algorithms::hierarchical {

// The call seen by a group of its ranks while this lives (Call::enter_group).
template <class Call>
class InGroup {
 public:
  InGroup(Call& call, const std::vector<int>& members, int finish_ranks) : call_(call) {
    call.enter_group(members, finish_ranks);
  }
  InGroup(const InGroup&) = delete;
  InGroup& operator=(const InGroup&) = delete;
  ~InGroup() { call_.leave_group(); }

 private:
  Call& call_;
};

// The groups of one rank: its node's ranks and its rail, both in order.
struct Groups {
  std::vector<int> node;     // the ranks on this rank's node, ascending
  std::vector<int> rail;     // local rank j of every node (j: this rank's), in node order
  std::vector<int> leaders;  // local rank 0 of every node, in node order
  int local = 0;             // this rank's place on its node
};

// From the communicator's node map; every rank on one node where the map is not known yet.
inline Groups groups_of(const NodeMap* map, int rank, int size) {
  Groups g;
  if (!map) {
    for (int r = 0; r < size; ++r) g.node.push_back(r);
    g.rail = {rank};
    g.leaders = {0};
    g.local = rank;
    return g;
  }
  const auto me = static_cast<std::size_t>(rank);
  g.node = map->ranks_on(map->node_of[me]);
  g.local = map->local_rank[me];
  g.rail = map->rail(g.local);
  g.leaders = map->rail(0);
  return g;
}

// data = finish(data) for `ranks` > 1 (avg's division); a group of one rank has nothing to
// exchange but still finishes.
template <class Call, class T, class Op>
void finish_in_place(Call& call, std::span<T> data, Op op, int ranks) {
  if constexpr (AveragingOp<Op>) {
    if (ranks > 1 && !data.empty()) {
      const T* inputs[] = {data.data()};
      call.memory().reduce(op, data.data(), std::span<const T* const>(inputs), data.size(), ranks);
      call.memory().wait();
    }
  }
}

// The levels' algorithms, as plan() chose and priced them. Within a node, `hierarchical` runs
// direct (reduce-scatter, all-gather) and `node_leaders` tree (reduce, broadcast): the halves of
// the flat direct and tree all-reduces, so every all_reduce instantiates them already. Letting
// plan() pick ring there too made every program that calls all_reduce 8% longer to compile for
// a node level of a few ranks, where the two differ little. Across nodes any of ring, tree and
// direct (`inter`; automatic: ring).
struct Levels {
  Algorithm intra = Algorithm::automatic;
  Algorithm inter = Algorithm::automatic;
};

// out = reduction of every rank's `in` over the call's group (in may equal out), finished by
// its finish_ranks().
template <class Call, class T, class Op>
void group_all_reduce(Call& call, std::span<const T> in, std::span<T> out, Op op,
                      Algorithm algorithm, std::size_t chunk_bytes) {
  if (call.size() == 1) {  // copied and finished in one pass (reduce/memory.hpp)
    if (in.data() == out.data()) return finish_in_place(call, out, op, call.finish_ranks());
    finish_copy_in(call.memory(), op, out.data(), in.data(), in.size(), call.finish_ranks());
    return call.memory().wait();
  }
  switch (algorithm) {
    case Algorithm::tree: return tree::all_reduce(call, in, out, op, chunk_bytes);
    case Algorithm::direct: return direct::all_reduce(call, in, out, op);
    default: return ring::all_reduce(call, in, out, op, chunk_bytes);
  }
}

template <class Call, class T, class Op>
void node_leaders_all_reduce(Call& call, const Groups& groups, std::span<const T> in,
                             std::span<T> out, Op op, std::size_t chunk_bytes, Levels levels) {
  const bool leader = groups.local == 0, alone = groups.node.size() == 1;
  if (alone) {
    if (in.data() != out.data()) call.memory().copy(out.data(), in.data(), in.size());
  } else {
    InGroup node(call, groups.node, unfinished);
    tree::reduce(call, in, leader ? out : std::span<T>{}, 0, op, chunk_bytes);
  }
  if (leader) {
    InGroup across(call, groups.leaders, call.size());
    group_all_reduce(call, std::span<const T>(out), out, op, levels.inter, chunk_bytes);
  }
  if (alone) return;
  InGroup node(call, groups.node, unfinished);
  tree::broadcast(call, out, 0, chunk_bytes);
}

template <class Call, class T, class Op>
void all_reduce(Call& call, const NodeMap* map, std::span<const T> in, std::span<T> out, Op op,
                std::size_t chunk_bytes, Levels levels) {
  const Groups groups = groups_of(map, call.rank(), call.size());
  if (map && map->uniform_per_node() == 0)
    return node_leaders_all_reduce(call, groups, in, out, op, chunk_bytes, levels);
  const int per_node = static_cast<int>(groups.node.size());
  const auto segments = schedule::Segments::even(in.size(), per_node);
  const partition::Range mine = segments[groups.local];
  std::span<T> shard = out.subspan(mine.begin, mine.size());
  if (per_node == 1) {
    if (in.data() != out.data()) call.memory().copy(out.data(), in.data(), in.size());
  } else {
    InGroup node(call, groups.node, unfinished);
    direct::reduce_scatter(call, in, shard, segments, op);
  }
  // Rail j's members all hold shard j of the same size, so they all skip an empty one.
  if (!shard.empty()) {
    InGroup across(call, groups.rail, call.size());
    group_all_reduce(call, std::span<const T>(shard), shard, op, levels.inter, chunk_bytes);
  }
  if (per_node == 1) return;
  InGroup node(call, groups.node, unfinished);
  direct::all_gather(call, out, segments);
}

}  // namespace colt::algorithms::hierarchical
