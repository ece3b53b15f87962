// Reduction ops: the ReductionFor contract, wrapping integer arithmetic (also built with
// -fsanitize=undefined to show the wrap is not signed overflow), min/max, avg's finish, names.

#include <doctest/doctest.h>

#include <colt/core/bfloat16.hpp>
#include <colt/core/half.hpp>
#include <colt/core/ops.hpp>
#include <colt/core/types.hpp>

#include <bit>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>

#include "random.hpp"

namespace {

// An op only defined for integers.
struct integer_xor {
  template <std::integral C>
  constexpr C operator()(C a, C b) const {
    return static_cast<C>(a ^ b);
  }
};

// Not stateless: an op must be an empty type.
struct stateful_sum {
  int bias = 0;
  template <class C>
  constexpr C operator()(C a, C b) const {
    return a + b;
  }
};

// Returns the wrong type.
struct returns_double {
  template <class C>
  constexpr double operator()(C a, C b) const {
    return double(a) + double(b);
  }
};

template <class Op>
constexpr bool for_all_types =
    colt::ReductionFor<Op, float> && colt::ReductionFor<Op, double> &&
    colt::ReductionFor<Op, std::int32_t> && colt::ReductionFor<Op, std::int64_t> &&
    colt::ReductionFor<Op, colt::half> && colt::ReductionFor<Op, colt::bfloat16>;

}  // namespace

// ReductionFor: all five built-in ops over all six element types.
static_assert(for_all_types<colt::sum>);
static_assert(for_all_types<colt::prod>);
static_assert(for_all_types<colt::min>);
static_assert(for_all_types<colt::max>);
static_assert(for_all_types<colt::avg>);

// Not for non-element types.
static_assert(!colt::ReductionFor<colt::sum, char>);
static_assert(!colt::ReductionFor<colt::sum, std::string>);
static_assert(!colt::ReductionFor<colt::max, std::uint32_t>);
static_assert(!colt::ReductionFor<colt::min, short>);
static_assert(!colt::ReductionFor<colt::avg, long double>);

// A user op for integers only: not for floats (nor the narrow floats, computed in float).
static_assert(!colt::ReductionFor<integer_xor, float>);
static_assert(!colt::ReductionFor<integer_xor, double>);
static_assert(!colt::ReductionFor<integer_xor, colt::half>);
static_assert(!colt::ReductionFor<integer_xor, colt::bfloat16>);
static_assert(colt::ReductionFor<integer_xor, std::int32_t>);
static_assert(colt::ReductionFor<integer_xor, std::int64_t>);
static_assert(!colt::ReductionFor<stateful_sum, float>);
static_assert(!colt::ReductionFor<returns_double, float>);

// compute_type_t: float for the narrow floats.
static_assert(std::same_as<colt::compute_type_t<colt::half>, float>);
static_assert(std::same_as<colt::compute_type_t<colt::bfloat16>, float>);
static_assert(std::same_as<colt::compute_type_t<std::int32_t>, std::int32_t>);

// AveragingOp.
static_assert(colt::AveragingOp<colt::avg>);
static_assert(!colt::AveragingOp<colt::sum>);
static_assert(!colt::AveragingOp<colt::prod>);
static_assert(!colt::AveragingOp<colt::min>);
static_assert(!colt::AveragingOp<colt::max>);
static_assert(!colt::AveragingOp<integer_xor>);

// Wrapping in constant evaluation (signed overflow would make these ill-formed).
static_assert(colt::sum{}(std::numeric_limits<std::int32_t>::max(), std::int32_t{1}) ==
              std::numeric_limits<std::int32_t>::min());
static_assert(colt::avg{}(std::numeric_limits<std::int64_t>::max(), std::int64_t{1}) ==
              std::numeric_limits<std::int64_t>::min());
static_assert(colt::prod{}(std::int32_t{65536}, std::int32_t{65536}) == 0);
static_assert(colt::prod{}(std::numeric_limits<std::int32_t>::min(), std::int32_t{-1}) ==
              std::numeric_limits<std::int32_t>::min());

namespace {

// Opaque to the optimiser so the sanitized build really runs the arithmetic at run time.
template <class T>
T opaque(T x) {
  volatile T v = x;
  return v;
}

template <class I>
I wrap_add(I a, I b) {
  using U = std::make_unsigned_t<I>;
  return std::bit_cast<I>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <class I>
I wrap_mul(I a, I b) {
  using U = std::make_unsigned_t<I>;
  return std::bit_cast<I>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
}

template <class I>
void check_integer_wrap(std::mt19937_64& rng) {
  using L = std::numeric_limits<I>;
  const I mx = opaque(L::max()), mn = opaque(L::min());
  CHECK(colt::sum{}(mx, opaque(I{1})) == L::min());
  CHECK(colt::sum{}(mn, opaque(I{-1})) == L::max());
  CHECK(colt::sum{}(mx, mx) == I{-2});
  CHECK(colt::avg{}(mx, opaque(I{1})) == L::min());
  CHECK(colt::prod{}(mx, opaque(I{2})) == I{-2});
  CHECK(colt::prod{}(mn, opaque(I{-1})) == L::min());
  CHECK(colt::prod{}(mn, mn) == I{0});
  for (int i = 0; i < 20000; ++i) {
    const I a = static_cast<I>(rng()), b = static_cast<I>(rng());
    CAPTURE(a);
    CAPTURE(b);
    REQUIRE(colt::sum{}(a, b) == wrap_add(a, b));
    REQUIRE(colt::avg{}(a, b) == wrap_add(a, b));
    REQUIRE(colt::prod{}(a, b) == wrap_mul(a, b));
    REQUIRE(colt::min{}(a, b) == (a < b ? a : b));
    REQUIRE(colt::max{}(a, b) == (a < b ? b : a));
  }
}

}  // namespace

TEST_CASE("integer sum/prod/avg wrap modulo 2^bits; min/max") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  SUBCASE("int32") { check_integer_wrap<std::int32_t>(rng); }
  SUBCASE("int64") { check_integer_wrap<std::int64_t>(rng); }
}

TEST_CASE("floating ops match the plain operators") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<double> dist(-1e3, 1e3);
  for (int i = 0; i < 10000; ++i) {
    const double a = dist(rng), b = dist(rng);
    const float fa = static_cast<float>(a), fb = static_cast<float>(b);
    CAPTURE(a);
    CAPTURE(b);
    REQUIRE(std::bit_cast<std::uint64_t>(colt::sum{}(a, b)) == std::bit_cast<std::uint64_t>(a + b));
    REQUIRE(std::bit_cast<std::uint64_t>(colt::prod{}(a, b)) ==
            std::bit_cast<std::uint64_t>(a * b));
    REQUIRE(std::bit_cast<std::uint64_t>(colt::avg{}(a, b)) == std::bit_cast<std::uint64_t>(a + b));
    REQUIRE(std::bit_cast<std::uint32_t>(colt::sum{}(fa, fb)) ==
            std::bit_cast<std::uint32_t>(fa + fb));
    REQUIRE(std::bit_cast<std::uint32_t>(colt::prod{}(fa, fb)) ==
            std::bit_cast<std::uint32_t>(fa * fb));
    REQUIRE(colt::min{}(a, b) == (a < b ? a : b));
    REQUIRE(colt::max{}(a, b) == (a < b ? b : a));
    REQUIRE(colt::min{}(fa, fb) == (fa < fb ? fa : fb));
    REQUIRE(colt::max{}(fa, fb) == (fa < fb ? fb : fa));
  }
  // Ties: min/max give one of the equal inputs.
  CHECK(colt::min{}(2.5, 2.5) == 2.5);
  CHECK(colt::max{}(-7, -7) == -7);
}

TEST_CASE("finish: avg divides by ranks (integers truncate); identity for the others") {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 2);
  for (int i = 0; i < 5000; ++i) {
    const int ranks = 1 + static_cast<int>(rng() % 64);
    const auto i32 = static_cast<std::int32_t>(rng());
    const auto i64 = static_cast<std::int64_t>(rng());
    const double d = std::ldexp(static_cast<double>(static_cast<std::int32_t>(rng())), -20);
    const float f = static_cast<float>(d);
    CAPTURE(ranks);
    CAPTURE(i32);
    CAPTURE(i64);
    CAPTURE(d);
    REQUIRE(colt::finish(colt::avg{}, i32, ranks) == i32 / ranks);  // truncates toward zero
    REQUIRE(colt::finish(colt::avg{}, i64, ranks) == i64 / ranks);
    REQUIRE(colt::finish(colt::avg{}, d, ranks) == d / ranks);
    REQUIRE(colt::finish(colt::avg{}, f, ranks) == f / static_cast<float>(ranks));
    REQUIRE(colt::finish(colt::sum{}, i32, ranks) == i32);
    REQUIRE(colt::finish(colt::prod{}, i64, ranks) == i64);
    REQUIRE(colt::finish(colt::min{}, d, ranks) == d);
    REQUIRE(colt::finish(colt::max{}, f, ranks) == f);
    REQUIRE(colt::finish(colt::sum{}, f, 0) == f);
  }
  // Truncation, both signs.
  CHECK(colt::finish(colt::avg{}, std::int32_t{7}, 2) == 3);
  CHECK(colt::finish(colt::avg{}, std::int32_t{-7}, 2) == -3);
  CHECK(colt::finish(colt::avg{}, std::int64_t{-1}, 3) == 0);
  CHECK(colt::finish(colt::avg{}, 7.0f, 2) == 3.5f);
  CHECK(colt::finish(colt::avg{}, 5.0, 1) == 5.0);
  static_assert(colt::finish(colt::avg{}, 9, 4) == 2);
  static_assert(colt::finish(colt::sum{}, 9, 4) == 9);
}

TEST_CASE("op names") {
  CHECK(colt::sum::name == std::string_view("sum"));
  CHECK(colt::prod::name == std::string_view("prod"));
  CHECK(colt::min::name == std::string_view("min"));
  CHECK(colt::max::name == std::string_view("max"));
  CHECK(colt::avg::name == std::string_view("avg"));
}
