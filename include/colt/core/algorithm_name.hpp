#pragma once
// The algorithm a call names: a vocabulary type, like CollectiveKind, that call descriptors
// carry across ranks. Which collective implements which is the algorithms layer's business
// (algorithms/select.hpp, with the choice itself).

#include <cstdint>
#include <string_view>

namespace colt {

// `ordered` is not a schedule of its own but a promise about the result: a reduction folds the
// ranks' values in rank order, x0 op x1 op ... op x(p-1), so its bits do not depend on message
// size, chunking or transport (docs/reliability.md). The communicator option of the same name
// makes every reducing call ordered, whatever algorithm it names.
// `slots` runs on a transport with shared slots (in-process): one hand-off among all ranks per
// round of a few KiB, the tiny-message algorithm (algorithms/slots.hpp).
enum class Algorithm : std::uint8_t { automatic, ring, tree, direct, ordered, slots };

namespace algo {
inline constexpr Algorithm automatic = Algorithm::automatic;
inline constexpr Algorithm ring = Algorithm::ring;
inline constexpr Algorithm tree = Algorithm::tree;
inline constexpr Algorithm direct = Algorithm::direct;
inline constexpr Algorithm ordered = Algorithm::ordered;
inline constexpr Algorithm slots = Algorithm::slots;
}  // namespace algo

inline constexpr Algorithm ordered = Algorithm::ordered;

constexpr std::string_view name_of(Algorithm algorithm) noexcept {
  switch (algorithm) {
    case Algorithm::automatic: return "automatic";
    case Algorithm::ring: return "ring";
    case Algorithm::tree: return "tree";
    case Algorithm::direct: return "direct";
    case Algorithm::ordered: return "ordered";
    case Algorithm::slots: return "slots";
  }
  return "unknown";
}

}  // namespace colt
