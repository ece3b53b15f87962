#pragma once
// The second level of plan()'s cost model (select.hpp): what crossing nodes adds to an
// all_reduce. The first level, the tuning table's alpha-beta entries, prices what runs on a node;
// here each node's link to the others costs alpha per message on the critical path (a rank that
// sends k messages across pays k alpha, as the simulator, transport/sim, charges its sender) and
// beta per byte through it, and a node's ranks share their link. A flat algorithm pays the link at
// every step that crosses nodes; a two-level one (algorithms/hierarchical.hpp) pays it only in its
// cross-node level, and there over N nodes instead of p ranks.
//
// For p ranks on N nodes (M each), n bytes, link (alpha, beta):
//   flat ring       2(p-1) alpha + c 2(p-1)/p n beta   c: ring edges leaving the busiest node
//   flat tree       2 ceil(log2 N) (alpha + n beta)     the levels that cross nodes
//   flat direct     2(p-M) alpha + 2 M (p-M)/p n beta   every rank to every off-node rank
//   rails (ring)    2(N-1) alpha + 2(N-1)/N n beta      M rails of n/M bytes share each link
//   leaders (ring)  2(N-1) alpha + 2(N-1)/N n beta      one rail of n bytes
// (rails and leaders by tree or direct as the flat forms over N ranks). broadcast and reduce:
//   flat tree       ceil(log2 N) (alpha + n beta)       flat direct   (p-M) (alpha + n beta)
//   hierarchical    the heads' tree or direct over N nodes, one rank each. The hierarchical
// all-reduce moves 2(N-1)/N n through each link where the flat ring moves 2(p-1)/p n, and takes
// 2(N-1) network steps where it takes 2(p-1).

#include <algorithm>
#include <cmath>

#include "colt/algorithms/tuning.hpp"
#include "colt/core/algorithm_name.hpp"
#include "colt/core/node_map.hpp"

namespace colt::tuning {

// What plan() knows of a communicator's nodes: one node until Communicator::nodes() learnt them.
struct Topology {
  int nodes = 1;
  int per_node = 0;        // M where every node has M ranks, 0 where they differ
  int most_per_node = 0;   // the most ranks on any node
  int ring_crossings = 0;  // ring edges leaving the busiest node (NodeMap::ring_crossings)
  bool operator==(const Topology&) const = default;
  bool spans_nodes() const { return nodes > 1; }
};

inline Topology topology_of(const NodeMap* map) {
  if (!map) return {};
  return {.nodes = map->nodes,
          .per_node = map->uniform_per_node(),
          .most_per_node = map->most_per_node(),
          .ring_crossings = map->ring_crossings()};
}

namespace detail {
inline double log2_steps(int ranks) { return std::ceil(std::log2(std::max(ranks, 1))); }
}  // namespace detail

// Seconds an all_reduce of `bytes` over `ranks` ranks spread as `t` says spends on the links,
// run flat by `algorithm`; 0 on one node and for schedules that never cross nodes (slots).
inline double flat_network_seconds(Algorithm algorithm, double bytes, int ranks, const Topology& t,
                                   const Link& link) {
  if (!t.spans_nodes()) return 0;
  const double p = ranks, m = t.most_per_node;
  switch (algorithm) {
    case Algorithm::ring:
      return 2 * (p - 1) * link.alpha + t.ring_crossings * 2 * (p - 1) / p * bytes * link.beta;
    case Algorithm::tree: return 2 * detail::log2_steps(t.nodes) * (link.alpha + bytes * link.beta);
    case Algorithm::direct:
      return 2 * (p - m) * link.alpha + 2 * m * (p - m) / p * bytes * link.beta;
    default: return 0;
  }
}

// Seconds the cross-node level of a two-level all_reduce spends on the links: `rails` groups,
// one rank per node each, all-reduce `bytes` each by `algorithm`, sharing every node's link.
inline double cross_nodes_seconds(Algorithm algorithm, double bytes, int nodes, int rails,
                                  const Link& link) {
  const double n = nodes, through = bytes * rails;
  if (nodes < 2) return 0;
  switch (algorithm) {
    case Algorithm::tree: return 2 * detail::log2_steps(nodes) * (link.alpha + through * link.beta);
    case Algorithm::ring:
    case Algorithm::direct: return 2 * (n - 1) * (link.alpha + through / n * link.beta);
    default: return 0;
  }
}

// The same for a broadcast or reduce run flat: a tree crosses nodes at ceil(log2 N) of its
// levels, a whole buffer each; direct moves the buffer once per rank off the root's node,
// through the root's link.
inline double flat_rooted_network_seconds(Algorithm algorithm, double bytes, int ranks,
                                          const Topology& t, const Link& link) {
  if (!t.spans_nodes()) return 0;
  switch (algorithm) {
    case Algorithm::tree: return detail::log2_steps(t.nodes) * (link.alpha + bytes * link.beta);
    case Algorithm::direct:
      return double(ranks - t.most_per_node) * (link.alpha + bytes * link.beta);
    default: return 0;
  }
}

// The level across nodes of a two-level broadcast or reduce: one rank per node, `bytes` each.
inline double heads_seconds(Algorithm algorithm, double bytes, int nodes, const Link& link) {
  if (nodes < 2) return 0;
  if (algorithm == Algorithm::direct) return double(nodes - 1) * (link.alpha + bytes * link.beta);
  return detail::log2_steps(nodes) * (link.alpha + bytes * link.beta);
}

}  // namespace colt::tuning
