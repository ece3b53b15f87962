#pragma once
// Which algorithm a call runs. `Algorithm::automatic` asks the tuning table below (measured on
// the development machine: see docs/performance.md); `colt::algo::ring|tree|direct` forces one
// per call; the environment variable COLT_ALGO forces one for every call that supports it.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "colt/core/error.hpp"
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

// COLT_ALGO, read once: unset or empty means automatic.
inline Algorithm algorithm_from_environment() {
  static const Algorithm value = [] {
    const char* text = std::getenv("COLT_ALGO");
    std::string_view name = text ? text : "";
    for (Algorithm a : {Algorithm::automatic, Algorithm::ring, Algorithm::tree, Algorithm::direct})
      if (name == name_of(a)) return a;
    if (name.empty()) return Algorithm::automatic;
    throw Error("", -1, no_peer,
                "COLT_ALGO='" + std::string(name) + "' is not one of automatic, ring, tree, direct");
  }();
  return value;
}

struct Plan {
  Algorithm algorithm;
  std::size_t chunk_bytes;  // pipeline chunk of ring and tree
};

// The algorithm and chunking for one call of `kind` moving `bytes` (the whole buffer) over
// `ranks` ranks; `zero_copy` says the transport can read peers' memory (in-process).
inline Plan plan(CollectiveKind kind, std::size_t bytes, int ranks, bool zero_copy,
                 Algorithm requested = Algorithm::automatic) {
  constexpr std::size_t chunk_bytes = std::size_t{1} << 20;
  if (requested != Algorithm::automatic) return {requested, chunk_bytes};  // checked by the caller
  if (Algorithm forced = algorithm_from_environment();
      forced != Algorithm::automatic && supports(kind, forced))
    return {forced, chunk_bytes};
  switch (kind) {
    case CollectiveKind::all_reduce:
      if (zero_copy) {  // measured: tree for latency, direct in between, ring's chunks stay in cache
        if (bytes <= (std::size_t{4} << 10)) return {Algorithm::tree, chunk_bytes};
        return {bytes <= (std::size_t{1} << 20) ? Algorithm::direct : Algorithm::ring, chunk_bytes};
      }
      return {bytes <= (std::size_t{64} << 10) || (ranks <= 2 && bytes <= (std::size_t{256} << 10))
                  ? Algorithm::tree : Algorithm::ring, chunk_bytes};
    case CollectiveKind::reduce_scatter:
    case CollectiveKind::all_gather:
      return {zero_copy ? Algorithm::direct : Algorithm::ring, chunk_bytes};
    case CollectiveKind::broadcast:
      return {ranks <= 3 ? Algorithm::direct : Algorithm::tree, chunk_bytes};
    case CollectiveKind::reduce:
      return {zero_copy ? Algorithm::direct : Algorithm::tree, chunk_bytes};
    default:
      return {Algorithm::direct, chunk_bytes};
  }
}

}  // namespace colt
