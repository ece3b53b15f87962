#pragma once
// Straightforward references for reductions: exact for integers (wrapping sum and product are
// order-independent modulo 2^bits) and min/max; in double for floating-point sum, prod and avg,
// with a tolerance from the type's unit roundoff and the number of roundings an algorithm makes.

#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"

namespace colt::test {

template <Element T>
constexpr double unit_roundoff() {
  if constexpr (std::is_same_v<T, float>)
    return 0x1p-24;
  else if constexpr (std::is_same_v<T, double>)
    return 0x1p-53;
  else if constexpr (std::is_same_v<T, half>)
    return 0x1p-11;
  else if constexpr (std::is_same_v<T, bfloat16>)
    return 0x1p-8;
  else
    return 0.0;
}

// The spacing of the type's subnormals: the absolute error of one rounding near zero.
template <Element T>
constexpr double subnormal_spacing() {
  if constexpr (std::is_same_v<T, float>)
    return 0x1p-149;
  else if constexpr (std::is_same_v<T, double>)
    return 0x1p-1074;
  else if constexpr (std::is_same_v<T, half>)
    return 0x1p-24;
  else if constexpr (std::is_same_v<T, bfloat16>)
    return 0x1p-133;
  else
    return 0.0;
}

template <Element T>
double to_double(T x) {
  return static_cast<double>(static_cast<compute_type_t<T>>(x));
}

// The reduction of inputs[0..p)[i] for every i, and where it is inexact, its tolerance.
template <Element T, class Op>
struct Reference {
  std::vector<T> exact;       // integers, min, max: the one right answer
  std::vector<double> value;  // floating sum/prod/avg: the value in double
  std::vector<double> tolerance;

  static constexpr bool is_exact =
      std::is_integral_v<T> || std::is_same_v<Op, min> || std::is_same_v<Op, max>;

  Reference(const std::vector<std::vector<T>>& inputs, std::size_t offset, std::size_t count) {
    const int p = static_cast<int>(inputs.size());
    if constexpr (is_exact) {
      exact.resize(count);
      using C = compute_type_t<T>;
      for (std::size_t i = 0; i < count; ++i) {
        C acc = static_cast<C>(inputs[0][offset + i]);
        for (int r = 1; r < p; ++r)
          acc = Op{}(acc, static_cast<C>(inputs[static_cast<std::size_t>(r)][offset + i]));
        exact[i] = static_cast<T>(finish(Op{}, acc, p));
      }
    } else {
      value.resize(count);
      tolerance.resize(count);
      const double u = unit_roundoff<T>();
      for (std::size_t i = 0; i < count; ++i) {
        double acc = to_double(inputs[0][offset + i]);
        double magnitude = std::fabs(acc);
        for (int r = 1; r < p; ++r) {
          double x = to_double(inputs[static_cast<std::size_t>(r)][offset + i]);
          if constexpr (std::is_same_v<Op, prod>)
            acc *= x;
          else
            acc += x;
          magnitude += std::fabs(x);
        }
        if constexpr (std::is_same_v<Op, prod>) {
          tolerance[i] = 1.01 * (p + 1) * u * std::fabs(acc);
        } else if constexpr (std::is_same_v<Op, avg>) {
          acc /= p;
          tolerance[i] = (p + 1) * u * magnitude / p + 2 * u * std::fabs(acc);
        } else {
          tolerance[i] = (p + 1) * u * magnitude;
        }
        tolerance[i] += (p + 1) * subnormal_spacing<T>();  // results that land among subnormals
        value[i] = acc;
      }
    }
  }

  // Empty if `got` matches; else a description of the first wrong element and the count.
  std::string check(std::span<const T> got) const {
    std::size_t wrong = 0, first = 0;
    const std::size_t n = is_exact ? exact.size() : value.size();
    if (got.size() != n) return "size " + std::to_string(got.size()) + " != " + std::to_string(n);
    for (std::size_t i = 0; i < n; ++i) {
      bool ok;
      if constexpr (is_exact)
        ok = std::memcmp(&got[i], &exact[i], sizeof(T)) == 0;
      else
        ok = std::fabs(to_double(got[i]) - value[i]) <= tolerance[i];
      if (!ok && wrong++ == 0) first = i;
    }
    if (!wrong) return {};
    std::ostringstream text;
    text << wrong << " wrong of " << n << "; first at " << first << ": got " << describe(got[first])
         << ", expected ";
    if constexpr (is_exact)
      text << describe(exact[first]);
    else
      text << value[first] << " +- " << tolerance[first];
    return text.str();
  }

  static std::string describe(T x) {
    std::ostringstream text;
    text.precision(17);
    if constexpr (std::is_integral_v<T>)
      text << static_cast<long long>(x);
    else
      text << to_double(x);
    return text.str();
  }
};

}  // namespace colt::test
