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
// broadcast and reduce, `hierarchical`: across nodes among one rank per node (the root on its
// node, the first rank elsewhere), and within each node from or to that rank.
// all_gather and reduce_scatter, `hierarchical`: across nodes over the rails, and within each
// node once per node (below).
// Every rank ends with the bits the cross-node all-reduce gave its rail (or the leaders), which
// are the same on every member of it, and the last level copies them: bitwise identical on all
// ranks. Sums are grouped by node, so they are not in rank order: `ordered` never plans these.
// avg divides once, by every rank, in the cross-node level; the node level leaves sums
// unfinished (Call::finish_ranks).

#include <algorithm>
#include <cstddef>
#include <memory>
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

// The ranks that carry a rooted collective across nodes: the root on its node, the first rank on
// every other node, in node order (any node sizes). Where the map is not known: the root alone.
inline std::vector<int> heads_of(const NodeMap* map, int root) {
  if (!map) return {root};
  std::vector<int> heads = map->rail(0);
  heads[static_cast<std::size_t>(map->node_of[static_cast<std::size_t>(root)])] = root;
  return heads;
}

// The head of this rank's node among `heads`, and this rank's node's ranks.
struct RootedGroups {
  std::vector<int> node;   // this rank's node, ascending (every rank where the map is not known)
  std::vector<int> heads;  // heads_of
  int node_root = 0;       // the place of this node's head among `node`
  int heads_root = 0;      // the place of the root among `heads`
  bool head = false;       // this rank is its node's head
};

inline RootedGroups rooted_groups_of(const NodeMap* map, int rank, int size, int root) {
  RootedGroups g;
  g.heads = heads_of(map, root);
  if (map) {
    g.node = map->ranks_on(map->node_of[static_cast<std::size_t>(rank)]);
    g.heads_root = map->node_of[static_cast<std::size_t>(root)];
  } else {
    for (int r = 0; r < size; ++r) g.node.push_back(r);
  }
  // This node's head: heads holds one rank per node, in node order.
  const int head =
      map ? g.heads[static_cast<std::size_t>(map->node_of[static_cast<std::size_t>(rank)])] : root;
  g.node_root = static_cast<int>(std::find(g.node.begin(), g.node.end(), head) - g.node.begin());
  g.head = head == rank;
  return g;
}

// broadcast, `hierarchical`: the root to the other nodes' heads (levels.inter), then each head to
// its node (levels.intra): the buffer crosses into each node once.
template <class Call, class T>
void broadcast(Call& call, const NodeMap* map, std::span<T> data, int root, std::size_t chunk_bytes,
               Levels levels) {
  const RootedGroups g = rooted_groups_of(map, call.rank(), call.size(), root);
  auto run = [&](Algorithm algorithm, int group_root) {
    if (call.size() == 1) return;
    if (algorithm == Algorithm::direct) return direct::broadcast(call, data, group_root);
    tree::broadcast(call, data, group_root, chunk_bytes);
  };
  if (g.head) {
    InGroup across(call, g.heads, call.size());
    run(levels.inter, g.heads_root);
  }
  InGroup node(call, g.node, call.size());
  run(levels.intra, g.node_root);
}

// reduce, `hierarchical`: each node to its head, unfinished (levels.intra), then the heads to the
// root, finished by every rank (levels.inter). `out` is read on the root only; a head that is
// not the root keeps its node's partial sum in a buffer of its own.
template <class Call, class T, class Op>
void reduce(Call& call, const NodeMap* map, std::span<const T> in, std::span<T> out, int root,
            Op op, std::size_t chunk_bytes, Levels levels) {
  const RootedGroups g = rooted_groups_of(map, call.rank(), call.size(), root);
  const int p = call.size();
  const bool across_nodes = g.heads.size() > 1;
  auto run = [&](Algorithm algorithm, std::span<const T> from, std::span<T> into, int group_root,
                 bool is_root) {
    if (algorithm == Algorithm::direct) return direct::reduce(call, from, into, group_root, op);
    tree::reduce(call, from, is_root ? into : std::span<T>{}, group_root, op, chunk_bytes);
  };
  const int me = call.rank();  // the call's rank: inside a group, rank() is the group's
  // A head's node sum, where the head is not the root: written before it is read, so left
  // uninitialised (a vector would zero it, one more pass over the buffer).
  std::unique_ptr<T[]> partial;
  std::span<const T> node_sum = in;
  if (g.node.size() > 1) {
    std::span<T> into = out;
    if (g.head && me != root) {
      partial = std::make_unique_for_overwrite<T[]>(in.size());
      into = std::span<T>(partial.get(), in.size());
    }
    InGroup node(call, g.node, across_nodes ? unfinished : p);
    run(levels.intra, in, into, g.node_root, g.head);
    if (g.head) node_sum = into;
  } else if (!across_nodes) {  // one rank in all: the root's own input, finished
    if (in.data() != out.data()) call.memory().copy(out.data(), in.data(), in.size());
    return finish_in_place(call, out, op, p);
  }
  if (!across_nodes || !g.head) return;
  InGroup across(call, g.heads, p);
  run(levels.inter, node_sum, out, g.heads_root, me == root);
}

// all_gather, `hierarchical`: out holds every rank's segment, this rank's in place.
//   1. across nodes over the rail (levels.inter: ring or direct): the rail's segments;
//   2. within the node, once for each node i: local rank k gives the segment of node i's local
//      rank k, which step 1 brought it (direct).
// Each segment enters each other node once: (N-1)/N of the buffer through each node's link, where
// a flat ring moves (p-1)/p through every link its ranks' neighbours cross. On nodes of different
// sizes rails do not cover every node: it runs flat, by levels.inter.
template <class Call, class T>
void all_gather(Call& call, const NodeMap* map, std::span<T> out,
                const schedule::Segments& segments, std::size_t chunk_bytes, Levels levels) {
  auto run = [&](const schedule::Segments& s) {
    if (levels.inter == Algorithm::direct) return direct::all_gather(call, out, s);
    ring::all_gather(call, out, s, chunk_bytes);
  };
  if (map && map->uniform_per_node() == 0) return run(segments);
  const Groups g = groups_of(map, call.rank(), call.size());
  if (g.rail.size() > 1) {
    InGroup across(call, g.rail, call.size());
    run(schedule::Segments::picked(segments, g.rail));
  }
  if (g.node.size() == 1) return;
  const int nodes = map ? map->nodes : 1;
  InGroup node(call, g.node, call.size());
  for (int i = 0; i < nodes; ++i) {
    const std::vector<int> node_i = map ? map->ranks_on(i) : g.node;
    direct::all_gather(call, out, schedule::Segments::picked(segments, node_i));
  }
}

// reduce_scatter, `hierarchical`: out = this rank's segment of the reduction.
//   1. within the node, once for each node i (direct): local rank k gets its node's sum,
//      unfinished, of the segment of node i's local rank k, packed by node into `partial`;
//   2. across nodes over the rail (levels.inter: ring or direct): a reduce-scatter of `partial`,
//      where the rank on node i keeps part i, its own segment, finished by every rank.
// The reverse of all_gather's path, with the same bytes through each link. On nodes of different
// sizes it runs flat, by levels.inter.
template <class Call, class T, class Op>
void reduce_scatter(Call& call, const NodeMap* map, std::span<const T> in, std::span<T> out,
                    const schedule::Segments& segments, Op op, std::size_t chunk_bytes,
                    Levels levels) {
  auto run = [&](std::span<const T> from, const schedule::Segments& s, std::span<T> writable) {
    if (levels.inter == Algorithm::direct) return direct::reduce_scatter(call, from, out, s, op);
    ring::reduce_scatter(call, from, out, s, op, chunk_bytes, writable);
  };
  if (map && map->uniform_per_node() == 0) return run(in, segments, {});
  const Groups g = groups_of(map, call.rank(), call.size());
  const int nodes = map ? map->nodes : 1, p = call.size();
  if (nodes == 1) {  // the node level alone, finished there
    InGroup node(call, g.node, p);
    return direct::reduce_scatter(call, in, out, segments, op);
  }
  std::vector<std::size_t> counts;  // the rail's segments, back to back in `partial`
  for (const int r : g.rail) counts.push_back(segments[r].size());
  const auto packed = schedule::Segments::from_counts(counts);
  // Written before it is read, so left uninitialised (no zeroing pass).
  const auto storage = std::make_unique_for_overwrite<T[]>(packed[nodes - 1].end);
  const std::span<T> partial(storage.get(), packed[nodes - 1].end);
  if (g.node.size() == 1) {  // this rank is its node: the rail's segments of its own input
    for (int i = 0; i < nodes; ++i) {
      const partition::Range own = segments[g.rail[static_cast<std::size_t>(i)]];
      call.memory().copy(partial.data() + packed[i].begin, in.data() + own.begin, own.size());
    }
    call.memory().wait();
  } else {
    InGroup node(call, g.node, unfinished);
    for (int i = 0; i < nodes; ++i) {
      const std::vector<int> node_i = map->ranks_on(i);
      direct::reduce_scatter(call, in, partial.subspan(packed[i].begin, packed[i].size()),
                             schedule::Segments::picked(segments, node_i), op);
    }
  }
  InGroup across(call, g.rail, p);
  run(partial, packed, partial);
}

}  // namespace colt::algorithms::hierarchical
