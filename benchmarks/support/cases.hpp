#pragma once
// What one benchmark row is: a collective, an element type, who runs it (one of colt's
// algorithms, colt's automatic choice, or the MPI library's own collective), the rank count and
// the size. Sizes and factors follow nccl-tests: `size` is the largest buffer of the call (the
// whole reduced buffer, or the whole gathered one), algbw = size / time, busbw = algbw x the
// collective's factor (the fraction of the data a rank must send over its busiest link, so
// busbw is comparable across rank counts).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "colt/algorithms/select.hpp"
#include "colt/core/bfloat16.hpp"
#include "colt/core/tag.hpp"

namespace colt::bench {

// The collectives the benchmarks time (colt's CollectiveKind, whose names they print).
using Kind = CollectiveKind;
inline constexpr Kind all_kinds[] = {Kind::all_reduce, Kind::reduce_scatter, Kind::all_gather,
                                     Kind::broadcast,  Kind::reduce,         Kind::scatter,
                                     Kind::gather,     Kind::all_to_all};

enum class Type : int { float32, bfloat16, int32, float16 };

// Who runs the collective: one of colt's algorithms (automatic included) or the MPI library.
struct Implementation {
  bool mpi = false;
  Algorithm algorithm = Algorithm::automatic;
};

constexpr std::string_view name_of(Type type) {
  constexpr std::string_view names[] = {"float32", "bfloat16", "int32", "float16"};
  return names[static_cast<int>(type)];
}

// nccl-tests' short type names, for --format nccl-tests.
constexpr std::string_view nccl_name_of(Type type) {
  constexpr std::string_view names[] = {"float", "bfloat16", "int32", "half"};
  return names[static_cast<int>(type)];
}

constexpr std::size_t size_of(Type type) {
  return type == Type::bfloat16 || type == Type::float16 ? 2 : 4;
}

inline std::string name_of(Implementation who) {
  if (who.mpi) return "mpi";
  return who.algorithm == Algorithm::automatic ? "auto" : std::string(colt::name_of(who.algorithm));
}

constexpr bool reduces(Kind kind) {
  return kind == Kind::all_reduce || kind == Kind::reduce_scatter || kind == Kind::reduce;
}

// The collectives whose buffers are cut into one segment per rank: the count is rounded down to
// a multiple of the rank count (as nccl-tests does), but never below one element per rank.
constexpr bool segmented(Kind kind) {
  return kind == Kind::reduce_scatter || kind == Kind::all_gather || kind == Kind::scatter ||
         kind == Kind::gather || kind == Kind::all_to_all;
}

// nccl-tests' bus-bandwidth factors.
constexpr double bus_factor(Kind kind, int ranks) {
  const double n = ranks;
  switch (kind) {
    case Kind::all_reduce: return 2 * (n - 1) / n;
    case Kind::broadcast:
    case Kind::reduce: return 1;
    default: return (n - 1) / n;
  }
}

// Bytes that must cross memory at least once (read or written) for a call of `size` bytes on
// `ranks` ranks sharing one memory: every input read once, every output written once. The
// `floor` column is this over the machine's measured bandwidth (STREAM add for reductions,
// copy otherwise).
constexpr double floor_traffic(Kind kind, double size, int ranks) {
  const double p = ranks;
  switch (kind) {
    case Kind::all_reduce: return 2 * p * size;    // p inputs read, p outputs written
    case Kind::reduce_scatter:                     // p inputs read, 1/p written on each rank
    case Kind::reduce: return (p + 1) * size;      // p inputs read, one output written
    case Kind::all_gather: return (p + 1) * size;  // the segments read, p outputs written
    case Kind::broadcast: return p * size;         // the root's read, p - 1 copies written
    default: return 2 * size;  // scatter, gather, all_to_all: each segment read, written once
  }
}

struct Case {
  Kind kind = Kind::all_reduce;
  Type type = Type::float32;
  Implementation who;
  int ranks = 2;
  std::size_t requested_bytes = 8;
  int root = 0;

  // Elements in the largest buffer, and its bytes (the nccl-tests `size`).
  std::size_t count() const {
    std::size_t n = requested_bytes / size_of(type);
    if (n == 0) n = 1;
    if (segmented(kind)) {
      const auto p = static_cast<std::size_t>(ranks);
      n = n < p ? p : n - n % p;
    }
    return n;
  }
  std::size_t bytes() const { return count() * size_of(type); }

  // collective/type/implementation/ranks/bytes: what --benchmark_filter matches.
  std::string name() const {
    return std::string(name_of(kind)) + "/" + std::string(name_of(type)) + "/" + name_of(who) +
           "/" + std::to_string(ranks) + "/" + std::to_string(bytes());
  }
};

// The algorithms colt implements for `kind`, automatic last; slots where the transport has shared
// slots (in-process); the two-level ones (all_reduce) with `with_nodes`, for ranks that know
// their nodes (on one node they are their node level alone: docs/scale-out.md).
inline std::vector<Algorithm> algorithms_for(Kind kind, bool with_slots, bool with_nodes = false) {
  std::vector<Algorithm> result;
  for (const Capability& c : record_of(kind).algorithms)
    if ((c.needs != Needs::host_slots || with_slots) && (c.needs != Needs::nodes || with_nodes))
      result.push_back(c.algorithm);
  result.push_back(Algorithm::automatic);
  return result;
}

// Every rank's input is a deterministic, non-zero small integer per (rank, index), so any
// reduction order gives exact sums in float32, bfloat16 and int32 (|sum| <= 8 x ranks, far
// inside bfloat16's 8-bit significand), and every rank can compute any expected value itself.
inline int value(int rank, std::size_t index) {
  std::uint64_t h = (index + 1) * 0x9E3779B97F4A7C15ull ^
                    (static_cast<std::uint64_t>(rank) + 1) * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  const int magnitude = static_cast<int>(h % 8) + 1;
  return (h >> 8) & 1 ? magnitude : -magnitude;
}

}  // namespace colt::bench
