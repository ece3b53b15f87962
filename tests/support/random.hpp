#pragma once
// Seeded random test data. The seed is printed once per test binary (and can be forced with
// COLT_TEST_SEED) so any failure can be replayed; data is never zeros or rank patterns.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

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

// Values suited to `Op`: products stay within [2^-8, 2^8] over 8 ranks for the narrow types, and
// integers use their full range (their sums and products wrap, exactly, in reference and colt).
template <Element T, class Op>
T random_value(std::mt19937_64& rng) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(rng());
  } else {
    using C = compute_type_t<T>;
    if constexpr (std::is_same_v<Op, prod>) {
      std::uniform_real_distribution<double> magnitude(0.5, 2.0);
      double v = magnitude(rng) * ((rng() & 1) ? -1.0 : 1.0);
      return static_cast<T>(static_cast<C>(v));
    } else {
      std::uniform_real_distribution<double> value(-1.0, 1.0);
      std::uniform_int_distribution<int> exponent(-6, 3);  // mixed magnitudes
      return static_cast<T>(static_cast<C>(std::ldexp(value(rng), exponent(rng))));
    }
  }
}

template <Element T, class Op = sum>
std::vector<T> random_buffer(std::mt19937_64& rng, std::size_t count) {
  std::vector<T> v(count);
  for (auto& x : v) x = random_value<T, Op>(rng);
  return v;
}

// Bit-for-bit equality: the test of "identical on every rank".
template <class T>
bool same_bits(std::span<const T> a, std::span<const T> b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size_bytes()) == 0);
}

}  // namespace colt::test
