#pragma once
// Seeded random test data. The seed is printed once per test binary (and can be forced with
// COLT_TEST_SEED) so any failure can be replayed; data is never zeros or rank patterns.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "colt/core/partition.hpp"
#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"

namespace colt::test {

inline std::uint64_t base_seed() {
  static const std::uint64_t seed = [] {
    const char* text = std::getenv("COLT_TEST_SEED");
    std::uint64_t s = text ? std::strtoull(text, nullptr, 10) : 20261122u;
    std::printf("colt tests: COLT_TEST_SEED=%llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

// Values suited to `Op`, made from 64 random bits: products stay within [2^-8, 2^8] over 8 ranks
// for the narrow types, and integers use their full range (their sums and products wrap, exactly,
// in reference and colt). One draw per value, split into bit fields: the suites generate every
// rank's input on every rank, and with std::uniform_*_distribution and std::ldexp that was most
// of their run time.
template <Element T, class Op>
T value_from_bits(std::uint64_t bits) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(bits);
  } else {
    using C = compute_type_t<T>;
    const double unit = static_cast<double>(bits >> 11) * 0x1.0p-53;  // [0, 1), 53 random bits
    const double sign = (bits & 1) ? -1.0 : 1.0;
    if constexpr (std::is_same_v<Op, prod>) {
      return static_cast<T>(static_cast<C>(sign * (0.5 + 1.5 * unit)));  // magnitude in [0.5, 2)
    } else {
      // (-1, 1) times 2^e for e in -6..3: mixed magnitudes, scaled exactly.
      static constexpr double scale[] = {0x1p-6, 0x1p-5, 0x1p-4, 0x1p-3, 0x1p-2,
                                         0x1p-1, 0x1p0,  0x1p1,  0x1p2,  0x1p3};
      return static_cast<T>(static_cast<C>(sign * unit * scale[(bits >> 1 & 0x3FF) % 10]));
    }
  }
}

template <Element T, class Op>
T random_value(std::mt19937_64& rng) {
  return value_from_bits<T, Op>(rng());
}

// Elements [offset, offset + count) of the buffer whose SplitMix64 stream (colt's own, from
// partition.hpp) starts at `seed`: each value is one draw, so any block is made without the
// values before it.
template <Element T, class Op = sum>
std::vector<T> random_block(std::uint64_t seed, std::size_t offset, std::size_t count) {
  constexpr std::uint64_t step = 0x9e3779b97f4a7c15ULL;  // SplitMix64's increment
  partition::SplitMix64 bits(seed + offset * step);
  std::vector<T> v(count);
  for (auto& x : v) x = value_from_bits<T, Op>(bits());
  return v;
}

// A buffer takes one draw from `rng` as the seed of its SplitMix64 stream: a few operations per
// value where the Mersenne Twister's state update is not inlined at -Og.
template <Element T, class Op = sum>
std::vector<T> random_buffer(std::mt19937_64& rng, std::size_t count) {
  return random_block<T, Op>(rng(), 0, count);
}

// Random bytes, one draw each (file and store contents, damaged records).
inline std::vector<std::byte> random_bytes(std::mt19937_64& rng, std::size_t length) {
  std::vector<std::byte> bytes(length);
  for (auto& b : bytes) b = static_cast<std::byte>(rng());
  return bytes;
}

// Bit-for-bit equality: the test of "identical on every rank".
template <class T>
bool same_bits(std::span<const T> a, std::span<const T> b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

}  // namespace colt::test
