#pragma once
// The algorithms colt implements, and which collective implements which.

#include <cstdint>
#include <string_view>

#include "colt/core/tag.hpp"

namespace colt {

// `ordered` is not a schedule of its own but a promise about the result: a reduction folds the
// ranks' values in rank order, x0 op x1 op ... op x(p-1), so its bits do not depend on message
// size, chunking or transport (docs/reliability.md). The communicator option of the same name
// makes every reducing call ordered, whatever algorithm it names.
enum class Algorithm : std::uint8_t { automatic, ring, tree, direct, ordered };

namespace algo {
inline constexpr Algorithm automatic = Algorithm::automatic;
inline constexpr Algorithm ring = Algorithm::ring;
inline constexpr Algorithm tree = Algorithm::tree;
inline constexpr Algorithm direct = Algorithm::direct;
inline constexpr Algorithm ordered = Algorithm::ordered;
}  // namespace algo

inline constexpr Algorithm ordered = Algorithm::ordered;

constexpr std::string_view name_of(Algorithm algorithm) noexcept {
  switch (algorithm) {
    case Algorithm::automatic: return "automatic";
    case Algorithm::ring: return "ring";
    case Algorithm::tree: return "tree";
    case Algorithm::direct: return "direct";
    case Algorithm::ordered: return "ordered";
  }
  return "unknown";
}

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
