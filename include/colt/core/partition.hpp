#pragma once
// Partitioning: which elements, samples, rows, columns or blocks a part owns. The one Range
// shape of colt: the algorithms cut buffers into per-rank segments and pipeline chunks with it
// (algorithms/schedule/segments.hpp), and model code shards data with it.
//
// 1-D: `range` gives contiguous shares, `random` the shares of a seeded permutation. Either way
// every sample belongs to exactly one rank and shares differ by at most one sample (the first
// n % parts ranks get the extra one). The permutation comes from colt's own generator, not
// from <random>'s distributions, whose output the standard leaves to the implementation: the
// same seed must give the same shards on every rank, compiler and machine.
//
// 2-D (a row-major rows x cols array): `rows`, `columns` and `blocks` (a grid of ranks) give the
// rectangle a rank owns; `extract` copies it out.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "colt/core/error.hpp"

namespace colt::partition {

// Half-open [begin, end).
struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
  constexpr std::size_t size() const { return end - begin; }
  friend constexpr bool operator==(const Range&, const Range&) = default;
};

namespace detail {
inline void check_part(Operation what, int parts, int part) {
  if (parts < 1)
    throw Error(ErrorKind::invalid_argument, what, Error::Rank{part},
                "needs at least one part, got " + std::to_string(parts));
  if (part < 0 || part >= parts)
    throw Error(
        ErrorKind::invalid_argument, what, Error::Rank{part},
        "part " + std::to_string(part) + " out of range for " + std::to_string(parts) + " parts");
}
}  // namespace detail

// The contiguous share of `part` when n items are split over `parts`, unchecked (parts >= 1,
// 0 <= part < parts): the algorithms' arithmetic, on every chunk of every call.
constexpr Range even_part(std::size_t n, int parts, int part) {
  const auto p = static_cast<std::size_t>(parts);
  const auto r = static_cast<std::size_t>(part);
  const std::size_t base = n / p;
  const std::size_t extra = n % p;
  const std::size_t begin = r * base + (r < extra ? r : extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

// The same share, with `parts` and `part` checked.
inline Range range(std::size_t n, int parts, int part) {
  detail::check_part(Operation::partition_range, parts, part);
  return even_part(n, parts, part);
}

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified, so a seed names the
// same sequence everywhere.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) : state_(seed) {}
  constexpr std::uint64_t operator()() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1), from the top 53 bits (every double in it equally spaced).
  constexpr double unit() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Uniform in [0, bound), bound > 0, without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t bound) {
    __extension__ using u128 = unsigned __int128;  // __extension__: quiet under -pedantic
    u128 m = static_cast<u128>((*this)()) * bound;
    auto low = static_cast<std::uint64_t>(m);
    if (low < bound) {
      const std::uint64_t threshold = -bound % bound;
      while (low < threshold) {
        m = static_cast<u128>((*this)()) * bound;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return static_cast<std::uint64_t>(m >> 64);
  }

 private:
  std::uint64_t state_;
};

// 0..n-1 in an order fixed by `seed` (Fisher-Yates). Use seed + epoch for a new order per epoch.
inline std::vector<std::size_t> shuffled(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  SplitMix64 rng(seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

// The sample indices `part` owns: its range of the seeded permutation. Every rank computes the
// same permutation, so the shares are disjoint and cover 0..n-1.
inline std::vector<std::size_t> random(std::size_t n, int parts, int part, std::uint64_t seed) {
  const Range mine = range(n, parts, part);
  const std::vector<std::size_t> order = shuffled(n, seed);
  // An indexed loop: copying the iterator range trips GCC 12's -Wstringop-overread when the
  // bounds are compile-time constants.
  std::vector<std::size_t> share(mine.size());
  for (std::size_t i = 0; i < share.size(); ++i) share[i] = order[mine.begin + i];
  return share;
}

// A rectangle of a row-major rows x cols array.
struct Block {
  Range rows;
  Range cols;
  friend constexpr bool operator==(const Block&, const Block&) = default;
};

// Whole rows: `part` owns rows range(rows, parts, part).
inline Block rows(std::size_t rows, std::size_t cols, int parts, int part) {
  detail::check_part(Operation::partition_rows, parts, part);
  return {range(rows, parts, part), {0, cols}};
}

// Whole columns: `part` owns columns range(cols, parts, part).
inline Block columns(std::size_t rows, std::size_t cols, int parts, int part) {
  detail::check_part(Operation::partition_columns, parts, part);
  return {{0, rows}, range(cols, parts, part)};
}

// A grid of grid_rows x grid_cols ranks, numbered row-major.
struct Grid {
  int rows = 1;
  int cols = 1;
  constexpr int size() const { return rows * cols; }
};

// The most nearly square grid of exactly `parts` ranks (rows <= cols).
inline Grid square_grid(int parts) {
  detail::check_part(Operation::partition_square_grid, parts, 0);
  int r = 1;
  for (int d = 1; d * d <= parts; ++d)
    if (parts % d == 0) r = d;
  return {r, parts / r};
}

// The block of `part` (at grid row part / grid.cols, grid column part % grid.cols).
inline Block blocks(std::size_t rows, std::size_t cols, Grid grid, int part) {
  if (grid.rows < 1 || grid.cols < 1)
    throw Error(ErrorKind::invalid_argument, Operation::partition_blocks, Error::Rank{part},
                "grid must have at least one row and column");
  detail::check_part(Operation::partition_blocks, grid.size(), part);
  return {range(rows, grid.rows, part / grid.cols), range(cols, grid.cols, part % grid.cols)};
}

// Copies `block` out of the row-major `matrix` with `cols` columns, row-major.
template <class T>
std::vector<T> extract(std::span<const T> matrix, std::size_t cols, const Block& block) {
  if (block.cols.end > cols || block.rows.end * cols > matrix.size())
    throw Error(ErrorKind::invalid_argument, Operation::partition_extract, Error::no_rank,
                "block reaches past a matrix of " + std::to_string(matrix.size()) +
                    " elements with " + std::to_string(cols) + " columns");
  std::vector<T> out;
  out.reserve(block.rows.size() * block.cols.size());
  for (std::size_t r = block.rows.begin; r < block.rows.end; ++r) {
    const T* row = matrix.data() + r * cols;
    out.insert(out.end(), row + block.cols.begin, row + block.cols.end);
  }
  return out;
}

}  // namespace colt::partition
