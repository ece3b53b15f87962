#pragma once
// Which collective implements which algorithm (the names are in core/algorithm_name.hpp).

#include "colt/core/algorithm_name.hpp"
#include "colt/core/tag.hpp"

namespace colt {

// The algorithms each collective implements.
constexpr bool supports(CollectiveKind kind, Algorithm algorithm) {
  if (algorithm == Algorithm::automatic || algorithm == Algorithm::direct) return true;
  if (algorithm == Algorithm::ordered)
    return kind == CollectiveKind::all_reduce || kind == CollectiveKind::reduce_scatter ||
           kind == CollectiveKind::reduce;
  switch (kind) {
    case CollectiveKind::all_reduce: return true;
    case CollectiveKind::reduce_scatter:
    case CollectiveKind::all_gather: return algorithm == Algorithm::ring;
    case CollectiveKind::broadcast:
    case CollectiveKind::reduce: return algorithm == Algorithm::tree;
    default: return false;
  }
}

}  // namespace colt
