#pragma once
// The test matrix: every type, every op, rank counts 1..8, counts {0, 1, 7, random}, both
// buffer forms, every algorithm; plus large counts (1000003) on a seeded sample that still
// touches every type, op, rank count, algorithm and form. COLT_TEST_SCALE=reduced keeps a
// quarter of the large sample, for the slow sanitizer builds, and those builds compile the
// matrix for fewer types (-Dtest_types, which defines COLT_TEST_TYPES).

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "colt/algorithms/records.hpp"
#include "colt/algorithms/select.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"
#include "random.hpp"

namespace colt::test {

template <class... Ts>
struct type_list {};

// Every element type colt reduces, whatever the build keeps: for the suites whose subject is
// the per-type code itself (the CUDA kernels), which every build must compile.
using every_type = type_list<float, double, std::int32_t, std::int64_t, half, bfloat16>;

#if COLT_TEST_TYPES == 3
// AddressSanitizer and UndefinedBehaviorSanitizer look for out-of-bounds accesses, leaks and
// undefined arithmetic. What decides those is the element's size and which reduction body runs
// (SIMD float, integer, or 16-bit widened to float), not which of two same-sized types it is:
// float (4 bytes, float), int64 (8 bytes, integer) and bfloat16 (2 bytes, widened) keep every
// size and body. Every type is instantiated in the plain build; half the types halves these
// builds' largest programs.
using all_types = type_list<float, std::int64_t, bfloat16>;
#elif COLT_TEST_TYPES == 1
// ThreadSanitizer looks for races between ranks' threads, which no element type changes.
using all_types = type_list<float>;
#else
using all_types = every_type;
#endif
// Suites that repeat a path the full matrix covers elsewhere (another transport's copies) keep
// one type per element size, or the one type ThreadSanitizer builds.
#if COLT_TEST_TYPES == 1
using per_size_types = all_types;
#else
using per_size_types = type_list<float, std::int64_t, half>;
#endif
using all_ops = type_list<sum, prod, min, max, avg>;

template <class... Ts, class Fn>
void for_each(type_list<Ts...>, Fn&& fn) {
  (fn(std::type_identity<Ts>{}), ...);
}

template <class... Ts>
constexpr int type_count(type_list<Ts...>) {
  return static_cast<int>(sizeof...(Ts));
}

inline constexpr std::size_t large_count = 1000003;
inline constexpr int max_ranks = 8;

inline bool reduced_scale() {
  const char* text = std::getenv("COLT_TEST_SCALE");
  return text && std::string_view(text) == "reduced";
}

struct Case {
  int ranks = 1;
  std::size_t count = 0;
  bool in_place = false;
  Algorithm algorithm = Algorithm::automatic;
  int root = 0;
  std::uint64_t seed = 0;
};

inline std::string describe(const Case& c, std::string_view type, std::string_view op = {}) {
  std::ostringstream text;
  text << "ranks=" << c.ranks << " count=" << c.count << " type=" << type;
  if (!op.empty()) text << " op=" << op;
  text << (c.in_place ? " in-place" : " out-of-place") << " algo=" << name_of(c.algorithm)
       << " root=" << c.root << " seed=" << c.seed;
  return text.str();
}

// Every algorithm a call of `kind` may name: its record's schedules (algorithms/records.hpp),
// then automatic. A schedule added to a record is in every collective test's matrix at once;
// the two-level ones (Needs::nodes) are left to collectives/hierarchical, which runs them on
// emulated nodes of every size (on the one node these suites have, they are their node level:
// ring and tree again).
inline std::vector<Algorithm> algorithms_of(CollectiveKind kind) {
  std::vector<Algorithm> algorithms;
  for (const Capability& c : record_of(kind).algorithms)
    if (c.needs != Needs::nodes) algorithms.push_back(c.algorithm);
  algorithms.push_back(Algorithm::automatic);
  return algorithms;
}

// Small counts, all used in the full product: the empty call, one element, a prime, and a
// random count that is rarely a multiple of the rank count.
inline std::vector<std::size_t> small_counts(std::mt19937_64& rng) {
  return {0, 1, 7, 2 + rng() % 300};
}

// The full product over small counts, for `algorithms`: every algorithm x ranks 1..8 x count x
// buffer form. At reduced scale (the sanitizer builds, where launching rank threads is most of
// the time) each algorithm and rank count keeps one count and form, and successive calls (one
// per type x op pair) move on to the next, so that together they still cover every combination.
// One counter for the whole program (a static inside the template would count per call site).
inline int next_small_cases_turn() {
  static std::atomic<int> turn{0};
  return turn++;
}

template <class Fn>
void for_small_cases(std::uint64_t salt, const std::vector<Algorithm>& algorithms, Fn&& fn) {
  const int turn = next_small_cases_turn();
  const bool thin = reduced_scale();
  std::mt19937_64 rng(base_seed() ^ salt);
  int a = 0;
  for (Algorithm algorithm : algorithms) {
    for (int ranks = 1; ranks <= max_ranks; ++ranks) {
      const auto counts = small_counts(rng);
      const auto forms = static_cast<int>(2 * counts.size());
      const int kept = (turn + a + ranks) % forms;
      for (std::size_t i = 0; i < counts.size(); ++i)
        for (bool in_place : {false, true}) {
          Case c{ranks, counts[i], in_place, algorithm, static_cast<int>(rng() % ranks), rng()};
          if (!thin || kept == static_cast<int>(2 * i) + (in_place ? 1 : 0)) fn(c);
        }
    }
    ++a;
  }
}

// One large case for sample index `k` (one per type x op pair): rank counts cycle through
// 1..8, algorithms and buffer forms alternate, so the sample covers every value of each.
inline Case large_case(int k, const std::vector<Algorithm>& algorithms, std::uint64_t salt) {
  std::mt19937_64 rng(base_seed() ^ salt ^
                      (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(k + 1)));
  const int n = static_cast<int>(algorithms.size());
  Case c;
  c.ranks = 1 + (k * 5 + 3) % max_ranks;
  c.algorithm = algorithms[static_cast<std::size_t>(k % n)];
  c.in_place = (k / n) % 2 == 1;
  c.count = large_count;
  c.root = static_cast<int>(rng() % static_cast<std::uint64_t>(c.ranks));
  c.seed = rng();
  return c;
}

inline bool keep_large(int k) { return !reduced_scale() || k % 4 == 0; }

}  // namespace colt::test
