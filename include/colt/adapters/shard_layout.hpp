#pragma once
// Shard layout: how ShardedDataParallel cuts a model's flat parameters into units and shards.
//
// The flat order is the registration order, tensor after tensor. A unit is a run of whole
// tensors of at most `cap` elements (a tensor larger than the cap is a unit of its own) that
// also ends where the model said a unit ends (a layer boundary): the granularity of every
// collective, like FSDP's flat parameter per wrapped module. Each unit is
// split evenly over the ranks (the first count % p ranks get one element more), so any
// parameter count on any p works, and a unit smaller than p leaves some ranks an empty shard.
// A rank's shard of the whole model is one range per unit.

#include <cstddef>
#include <span>
#include <vector>

#include "colt/core/partition.hpp"

namespace colt {

struct ShardUnit {
  std::size_t first_tensor = 0;  // tensors [first_tensor, end_tensor)
  std::size_t end_tensor = 0;
  std::size_t offset = 0;           // first element in the flat order
  std::size_t count = 0;            // elements
  std::vector<std::size_t> counts;  // shard sizes, per rank
  partition::Range shard;           // this rank's shard, within the unit
  std::size_t size() const { return count; }
};

struct ShardLayout {
  std::vector<ShardUnit> units;
  std::vector<std::size_t> unit_of;        // per tensor
  std::vector<std::size_t> tensor_offset;  // per tensor: first element in the flat order
  std::size_t total = 0;                   // elements in the model

  // Elements of this rank's shards over every unit.
  std::size_t shard_elements() const {
    std::size_t n = 0;
    for (const ShardUnit& u : units) n += u.shard.size();
    return n;
  }
};

// `ends_unit[t]`: a unit ends after tensor t (empty: by the cap alone).
inline ShardLayout lay_out_shards(std::span<const std::size_t> tensor_sizes,
                                  const std::vector<bool>& ends_unit, std::size_t cap_elements,
                                  int ranks, int rank) {
  ShardLayout layout;
  const auto close = [&](ShardUnit& u) {
    for (int r = 0; r < ranks; ++r)
      u.counts.push_back(partition::even_part(u.count, ranks, r).size());
    u.shard = partition::even_part(u.count, ranks, rank);
    layout.units.push_back(std::move(u));
  };
  ShardUnit open;
  bool has_open = false;
  for (std::size_t t = 0; t < tensor_sizes.size(); ++t) {
    if (has_open && open.count + tensor_sizes[t] > cap_elements) {
      close(open);
      has_open = false;
    }
    if (!has_open) {
      open = ShardUnit{t, t, layout.total, 0, {}, {}};
      has_open = true;
    }
    layout.unit_of.push_back(layout.units.size());
    layout.tensor_offset.push_back(layout.total);
    open.end_tensor = t + 1;
    open.count += tensor_sizes[t];
    layout.total += tensor_sizes[t];
    if (t < ends_unit.size() && ends_unit[t]) {
      close(open);
      has_open = false;
    }
  }
  if (has_open) close(open);
  return layout;
}

}  // namespace colt
