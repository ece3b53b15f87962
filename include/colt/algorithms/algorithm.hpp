#pragma once
// The algorithms colt implements, and which collective implements which.

#include <cstdint>
#include <string_view>

#include "colt/core/tag.hpp"

namespace colt {

enum class Algorithm : std::uint8_t { automatic, ring, tree, direct };

namespace algo {
inline constexpr Algorithm automatic = Algorithm::automatic;
inline constexpr Algorithm ring = Algorithm::ring;
inline constexpr Algorithm tree = Algorithm::tree;
inline constexpr Algorithm direct = Algorithm::direct;
}  // namespace algo

constexpr std::string_view name_of(Algorithm algorithm) noexcept {
  switch (algorithm) {
    case Algorithm::automatic: return "automatic";
    case Algorithm::ring: return "ring";
    case Algorithm::tree: return "tree";
    case Algorithm::direct: return "direct";
  }
  return "unknown";
}

// The algorithms each collective implements.
constexpr bool supports(CollectiveKind kind, Algorithm algorithm) {
  if (algorithm == Algorithm::automatic || algorithm == Algorithm::direct) return true;
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
