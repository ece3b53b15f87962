#pragma once
// The algorithm a call names: a vocabulary type, like CollectiveKind, that call descriptors
// carry across ranks. Which collective implements which is the algorithms layer's business: its
// capability records (algorithms/records.hpp), which the choice (algorithms/select.hpp) reads.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace colt {

// `ordered` is a request, not a schedule: the planner answers it with a schedule that folds a
// reduction's values in rank order, x0 op x1 op ... op x(p-1) (direct, or slots where the call
// fits one round), so its bits do not depend on message size, chunking or transport
// (docs/reliability.md). Every spelling means this one thing: `colt::ordered` and
// `colt::algo::ordered` name it for one call, the communicator option of the same name for
// every reducing call on it (whatever algorithm the call names), and only reductions accept it
// (their records say `reduces`).
// `slots` runs on a transport with shared slots (in-process): one hand-off among all ranks per
// round of a few KiB, the tiny-message algorithm (algorithms/slots.hpp).
// `dissemination` is barrier's schedule over messages: in round k each rank signals rank + 2^k.
// `hierarchical` and `node_leaders` run a collective in two levels, within each node and across
// nodes, over the nodes the communicator knows (Communicator::nodes(); before that, all ranks
// count as one node): algorithms/hierarchical.hpp.
enum class Algorithm : std::uint8_t {
  automatic,
  ring,
  tree,
  direct,
  ordered,
  slots,
  dissemination,
  hierarchical,
  node_leaders
};

namespace algo {
inline constexpr Algorithm automatic = Algorithm::automatic;
inline constexpr Algorithm ring = Algorithm::ring;
inline constexpr Algorithm tree = Algorithm::tree;
inline constexpr Algorithm direct = Algorithm::direct;
inline constexpr Algorithm ordered = Algorithm::ordered;
inline constexpr Algorithm slots = Algorithm::slots;
inline constexpr Algorithm dissemination = Algorithm::dissemination;
inline constexpr Algorithm hierarchical = Algorithm::hierarchical;
inline constexpr Algorithm node_leaders = Algorithm::node_leaders;
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
    case Algorithm::dissemination: return "dissemination";
    case Algorithm::hierarchical: return "hierarchical";
    case Algorithm::node_leaders: return "node_leaders";
  }
  return "unknown";
}

// Every value, in the enumeration's order: what the call descriptor's decoder and the parsers of
// COLT_ALGO and tuning files accept (a new algorithm is added to the enumeration, name_of and
// here; the static_assert below catches a list that no longer matches).
inline constexpr Algorithm all_algorithms[] = {
    Algorithm::automatic,     Algorithm::ring,         Algorithm::tree,
    Algorithm::direct,        Algorithm::ordered,      Algorithm::slots,
    Algorithm::dissemination, Algorithm::hierarchical, Algorithm::node_leaders};
namespace detail {
// Every enumerator listed, in order, and named; one past the last has no name.
constexpr bool algorithms_listed() {
  for (std::size_t i = 0; i < std::size(all_algorithms); ++i)
    if (static_cast<std::size_t>(all_algorithms[i]) != i || name_of(all_algorithms[i]) == "unknown")
      return false;
  return name_of(static_cast<Algorithm>(std::size(all_algorithms))) == "unknown";
}
}  // namespace detail
static_assert(detail::algorithms_listed());

// The algorithm called `name`, if any.
constexpr std::optional<Algorithm> algorithm_named(std::string_view name) noexcept {
  for (Algorithm a : all_algorithms)
    if (name_of(a) == name) return a;
  return std::nullopt;
}

}  // namespace colt
