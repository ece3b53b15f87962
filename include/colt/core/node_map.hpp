#pragma once
// Which ranks of a communicator share a node (a machine, or what stands for one in an emulation):
// the node of each rank, numbered in the order of the nodes' first ranks, and each rank's place
// among its node's ranks. Communicator::nodes() learns it from every rank's node name, as
// MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) does; split_by_node and split_by_rail split by it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "colt/core/detail/fnv1a.hpp"

namespace colt {

struct NodeMap {
  std::vector<int> node_of;     // rank -> node, 0..nodes-1 in the order of each node's first rank
  std::vector<int> local_rank;  // rank -> its place among its node's ranks, in rank order
  int nodes = 0;

  // The ranks on `node`, ascending.
  std::vector<int> ranks_on(int node) const {
    std::vector<int> ranks;
    for (std::size_t r = 0; r < node_of.size(); ++r)
      if (node_of[r] == node) ranks.push_back(static_cast<int>(r));
    return ranks;
  }
  // The most ranks any node has.
  int most_per_node() const {
    std::vector<int> count(static_cast<std::size_t>(nodes), 0);
    int most = 0;
    for (const int n : node_of) most = std::max(most, ++count[static_cast<std::size_t>(n)]);
    return most;
  }

  // The ranks in `local`'s place on every node (its rail), in node order.
  std::vector<int> rail(int local) const {
    std::vector<int> ranks(static_cast<std::size_t>(nodes), -1);
    for (std::size_t r = 0; r < node_of.size(); ++r)
      if (local_rank[r] == local) ranks[static_cast<std::size_t>(node_of[r])] = static_cast<int>(r);
    std::erase(ranks, -1);
    return ranks;
  }
  // M where every node has M ranks; 0 where they differ.
  int uniform_per_node() const {
    const int most = most_per_node();
    return static_cast<int>(node_of.size()) == most * nodes ? most : 0;
  }
  // How many edges of the ring in rank order (r to r+1, the last to 0) leave the node that
  // leaves most: 1 where each node's ranks are consecutive, up to its rank count where they
  // alternate. A flat ring's traffic crosses that node's link that many times.
  int ring_crossings() const {
    std::vector<int> leaving(static_cast<std::size_t>(nodes), 0);
    const std::size_t p = node_of.size();
    for (std::size_t r = 0; r < p && nodes > 1; ++r)
      if (node_of[r] != node_of[(r + 1) % p]) ++leaving[static_cast<std::size_t>(node_of[r])];
    return leaving.empty() ? 0 : *std::max_element(leaving.begin(), leaving.end());
  }

  // From each rank's node identity (a hash of its node name), in rank order.
  static NodeMap from_ids(std::span<const std::uint64_t> ids) {
    NodeMap map;
    std::vector<std::uint64_t> seen;
    std::vector<int> count;
    for (const std::uint64_t id : ids) {
      std::size_t node = 0;
      while (node < seen.size() && seen[node] != id) ++node;
      if (node == seen.size()) {
        seen.push_back(id);
        count.push_back(0);
      }
      map.node_of.push_back(static_cast<int>(node));
      map.local_rank.push_back(count[node]++);
    }
    map.nodes = static_cast<int>(seen.size());
    return map;
  }
};

// "2 nodes: ranks 0-3; ranks 4-7": each node's ranks as ranges, for a log.
inline std::string to_string(const NodeMap& map) {
  std::string text = std::to_string(map.nodes) + (map.nodes == 1 ? " node:" : " nodes:");
  for (int n = 0; n < map.nodes; ++n) {
    text += n ? "; ranks " : " ranks ";
    const std::vector<int> ranks = map.ranks_on(n);
    for (std::size_t i = 0; i < ranks.size();) {
      std::size_t j = i;
      while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
      // Appended piece by piece: g++ 12 at -O3 warns (-Wrestrict, a false positive) on
      // "-" + std::to_string(...).
      if (i) text += ',';
      text += std::to_string(ranks[i]);
      if (j > i) {
        text += '-';
        text += std::to_string(ranks[j]);
      }
      i = j + 1;
    }
  }
  return text;
}

namespace detail {
inline std::uint64_t node_id(std::string_view name) { return fnv1a(name); }
}  // namespace detail

}  // namespace colt
