// Host reducers against a naive loop: computed in compute_type_t<T> (float for half/bfloat16), in
// input order, rounded once; so the results must agree bit for bit, for every type and op.

#include <doctest/doctest.h>

#include <colt/core/bfloat16.hpp>
#include <colt/core/half.hpp>
#include <colt/core/ops.hpp>
#include <colt/core/types.hpp>
#include <colt/reduce/host.hpp>
#include <colt/reduce/memory.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "random.hpp"

TYPE_TO_STRING(colt::half);
TYPE_TO_STRING(colt::bfloat16);

namespace {

constexpr std::size_t sizes[] = {0, 1, 3, 1023, 1024, 1025, 4099};
constexpr std::size_t guard = 8;  // elements after `count` that must stay untouched

// Independent reference ops in the compute type: integers wrap (through unsigned arithmetic).
template <class Op, class C>
C ref_op(C a, C b) {
  if constexpr (std::is_same_v<Op, colt::sum> || std::is_same_v<Op, colt::avg>) {
    if constexpr (std::is_integral_v<C>) {
      using U = std::make_unsigned_t<C>;
      return static_cast<C>(static_cast<U>(a) + static_cast<U>(b));
    } else {
      return a + b;
    }
  } else if constexpr (std::is_same_v<Op, colt::prod>) {
    if constexpr (std::is_integral_v<C>) {
      using U = std::make_unsigned_t<C>;
      return static_cast<C>(static_cast<U>(a) * static_cast<U>(b));
    } else {
      return a * b;
    }
  } else if constexpr (std::is_same_v<Op, colt::min>) {
    return b < a ? b : a;
  } else {
    static_assert(std::is_same_v<Op, colt::max>);
    return a < b ? b : a;
  }
}

// Naive: acc = in[0] op in[1] op ... in compute type; avg with ranks > 0 divides; round once.
template <class Op, class T>
std::vector<T> naive(const std::vector<const T*>& inputs, std::size_t count, int ranks) {
  using C = colt::compute_type_t<T>;
  std::vector<T> out(count);
  for (std::size_t i = 0; i < count; ++i) {
    C acc = static_cast<C>(inputs[0][i]);
    for (std::size_t k = 1; k < inputs.size(); ++k)
      acc = ref_op<Op>(acc, static_cast<C>(inputs[k][i]));
    if (std::is_same_v<Op, colt::avg> && ranks > 0)
      acc = static_cast<C>(acc / static_cast<C>(ranks));
    out[i] = static_cast<T>(acc);
  }
  return out;
}

template <class T>
std::uint64_t bits_of(T x) {
  std::uint64_t b = 0;
  std::memcpy(&b, &x, sizeof(T));
  return b;
}

// Index of the first element whose bits differ, or -1.
template <class T>
long first_mismatch(const T* got, const T* expect, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (bits_of(got[i]) != bits_of(expect[i])) return static_cast<long>(i);
  return -1;
}

// A buffer of count + guard elements whose tail holds a recognisable, non-zero pattern.
template <class T>
std::vector<T> with_guard(std::vector<T> v, std::mt19937_64& rng) {
  for (std::size_t g = 0; g < guard; ++g) v.push_back(colt::test::random_value<T, colt::sum>(rng));
  return v;
}

template <class T>
bool guard_intact(const std::vector<T>& buffer, const std::vector<T>& before, std::size_t count) {
  return std::memcmp(buffer.data() + count, before.data() + count, guard * sizeof(T)) == 0;
}

template <class T>
std::string value_text(T x) {
  if constexpr (std::is_integral_v<T>)
    return std::to_string(static_cast<long long>(x));
  else
    return std::to_string(static_cast<double>(static_cast<colt::compute_type_t<T>>(x)));
}

template <class F>
void for_each_op(F&& f) {
  f(colt::sum{});
  f(colt::prod{});
  f(colt::min{});
  f(colt::max{});
  f(colt::avg{});
}

int random_ranks(std::mt19937_64& rng) { return 1 + static_cast<int>(rng() % 64); }

template <class T, class Op>
void check_pair(std::mt19937_64& rng) {
  for (std::size_t count : sizes) {
    for (int ranks : {0, 1, 2, random_ranks(rng)}) {
      CAPTURE(count);
      CAPTURE(ranks);
      const auto a = with_guard(colt::test::random_buffer<T, Op>(rng, count), rng);
      const auto b = with_guard(colt::test::random_buffer<T, Op>(rng, count), rng);
      const auto expect = naive<Op, T>({a.data(), b.data()}, count, ranks);

      // Separate output.
      auto out = with_guard(colt::test::random_buffer<T, Op>(rng, count), rng);
      const auto out_before = out;
      colt::reduce_pair(Op{}, out.data(), a.data(), b.data(), count, ranks);
      long bad = first_mismatch(out.data(), expect.data(), count);
      if (bad >= 0) {
        const auto i = static_cast<std::size_t>(bad);
        INFO("first mismatch at ", bad, ": a=", value_text(a[i]), " b=", value_text(b[i]),
             " got=", value_text(out[i]), " expected=", value_text(expect[i]));
        CHECK(bad == -1);
      }
      REQUIRE(guard_intact(out, out_before, count));

      // In place: out == a, then out == b, then out == a == b.
      auto a2 = a;
      colt::reduce_pair(Op{}, a2.data(), a2.data(), b.data(), count, ranks);
      REQUIRE(first_mismatch(a2.data(), expect.data(), count) == -1);
      REQUIRE(guard_intact(a2, a, count));
      auto b2 = b;
      colt::reduce_pair(Op{}, b2.data(), a.data(), b2.data(), count, ranks);
      REQUIRE(first_mismatch(b2.data(), expect.data(), count) == -1);
      REQUIRE(guard_intact(b2, b, count));
      auto self = a;
      const auto self_expect = naive<Op, T>({a.data(), a.data()}, count, ranks);
      colt::reduce_pair(Op{}, self.data(), self.data(), self.data(), count, ranks);
      REQUIRE(first_mismatch(self.data(), self_expect.data(), count) == -1);
    }
  }
}

template <class T, class Op>
void check_many(std::mt19937_64& rng) {
  for (std::size_t count : sizes) {
    for (std::size_t k = 1; k <= 9; ++k) {
      const int ranks = (k % 3 == 0) ? 0 : (k % 3 == 1 ? static_cast<int>(k) : random_ranks(rng));
      CAPTURE(count);
      CAPTURE(k);
      CAPTURE(ranks);
      std::vector<std::vector<T>> buffers;
      std::vector<const T*> ptrs;
      for (std::size_t j = 0; j < k; ++j)
        buffers.push_back(with_guard(colt::test::random_buffer<T, Op>(rng, count), rng));
      for (const auto& b : buffers) ptrs.push_back(b.data());
      const auto expect = naive<Op, T>(ptrs, count, ranks);

      auto out = with_guard(colt::test::random_buffer<T, Op>(rng, count), rng);
      const auto out_before = out;
      colt::reduce_many(Op{}, out.data(), std::span<const T* const>(ptrs), count, ranks);
      const long bad = first_mismatch(out.data(), expect.data(), count);
      if (bad >= 0) {
        const auto i = static_cast<std::size_t>(bad);
        INFO("first mismatch at ", bad, ": in[0]=", value_text(buffers[0][i]),
             " got=", value_text(out[i]), " expected=", value_text(expect[i]));
        CHECK(bad == -1);
      }
      REQUIRE(guard_intact(out, out_before, count));

      // In place: out aliases input j (a random one, and also the first and the last).
      for (std::size_t j : {std::size_t{0}, k - 1, static_cast<std::size_t>(rng() % k)}) {
        CAPTURE(j);
        auto copies = buffers;
        std::vector<const T*> cptrs;
        for (const auto& b : copies) cptrs.push_back(b.data());
        colt::reduce_many(Op{}, copies[j].data(), std::span<const T* const>(cptrs), count, ranks);
        REQUIRE(first_mismatch(copies[j].data(), expect.data(), count) == -1);
        REQUIRE(guard_intact(copies[j], buffers[j], count));
        for (std::size_t other = 0; other < k; ++other)  // the other inputs are untouched
          if (other != j)
            REQUIRE(std::memcmp(copies[other].data(), buffers[other].data(),
                                buffers[other].size() * sizeof(T)) == 0);
      }

      // reduce_many of two inputs agrees with reduce_pair.
      if (k == 2) {
        auto pair_out = out_before;
        colt::reduce_pair(Op{}, pair_out.data(), ptrs[0], ptrs[1], count, ranks);
        REQUIRE(first_mismatch(pair_out.data(), out.data(), count) == -1);
      }
    }
  }
}

template <class T, class Op>
void check_finish_copy(std::mt19937_64& rng) {
  using C = colt::compute_type_t<T>;
  for (std::size_t count : sizes) {
    for (int ranks : {0, 1, 2, 3, random_ranks(rng)}) {
      CAPTURE(count);
      CAPTURE(ranks);
      const auto in = with_guard(colt::test::random_buffer<T, Op>(rng, count), rng);
      std::vector<T> expect(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(count));
      if (std::is_same_v<Op, colt::avg> && ranks > 1)
        for (std::size_t i = 0; i < count; ++i)
          expect[i] = static_cast<T>(static_cast<C>(static_cast<C>(in[i]) / static_cast<C>(ranks)));

      auto out = with_guard(colt::test::random_buffer<T, Op>(rng, count), rng);
      const auto out_before = out;
      colt::finish_copy(Op{}, out.data(), in.data(), count, ranks);
      REQUIRE(first_mismatch(out.data(), expect.data(), count) == -1);
      REQUIRE(guard_intact(out, out_before, count));

      auto inplace = in;
      colt::finish_copy(Op{}, inplace.data(), inplace.data(), count, ranks);
      REQUIRE(first_mismatch(inplace.data(), expect.data(), count) == -1);
      REQUIRE(guard_intact(inplace, in, count));
    }
  }
}

}  // namespace

TEST_CASE_TEMPLATE("reduce_pair: bit-exact against a naive loop, in place too", T, float, double,
                   std::int32_t, std::int64_t, colt::half, colt::bfloat16) {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  for_each_op([&](auto op) {
    using Op = decltype(op);
    const std::string name(Op::name);
    CAPTURE(name);
    check_pair<T, Op>(rng);
  });
}

TEST_CASE_TEMPLATE("reduce_many: k = 1..9 inputs, bit-exact against a naive loop, in place too", T,
                   float, double, std::int32_t, std::int64_t, colt::half, colt::bfloat16) {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 1);
  for_each_op([&](auto op) {
    using Op = decltype(op);
    const std::string name(Op::name);
    CAPTURE(name);
    check_many<T, Op>(rng);
  });
}

TEST_CASE_TEMPLATE("finish_copy: copies; avg with ranks > 1 divides", T, float, double,
                   std::int32_t, std::int64_t, colt::half, colt::bfloat16) {
  const std::uint64_t seed = colt::test::base_seed();
  CAPTURE(seed);
  std::mt19937_64 rng(seed + 2);
  for_each_op([&](auto op) {
    using Op = decltype(op);
    const std::string name(Op::name);
    CAPTURE(name);
    check_finish_copy<T, Op>(rng);
  });
}

TEST_CASE("reduce: narrow types round once, not per step") {
  // 1 + 2^-11 + 2^-11 in half: rounding after each add would give 1 (ties to even twice);
  // rounding once the float sum 1 + 2^-10 gives the next half above 1.
  const colt::half one(1.0f), tiny(0x1p-11f);
  const colt::half* in[] = {&one, &tiny, &tiny};
  colt::half out;
  colt::reduce_many(colt::sum{}, &out, std::span<const colt::half* const>(in), 1, colt::unfinished);
  CHECK(out.to_bits() == 0x3C01);
  // avg of int32: truncating division after the wrapped sum.
  const std::int32_t a[] = {7, -7, 2147483647}, b[] = {0, 0, 1};
  std::int32_t o[3];
  colt::reduce_pair(colt::avg{}, o, a, b, 3, 2);
  CHECK(o[0] == 3);
  CHECK(o[1] == -3);
  CHECK(o[2] == -1073741824);  // INT32_MIN / 2
}

// The loop a tier runs (both 16-bit types have a loop on every tier).
std::string wide_loop_name(colt::detail::WideTier tier) {
  using colt::detail::WideTier;
  if (tier == WideTier::avx512) return "AVX-512, 32 a step in 16-float vectors";
  if (tier >= WideTier::avx2) return "AVX2 + F16C, 16 a step in 8-float vectors";
  return "portable loop only";
}

// Every 16-bit pattern against shuffled partners, through the loops of every tier this CPU has
// (forced one by one, so that each is tested where a wider one exists; then as reduce_pair and
// reduce_many choose) and through the portable loops, for every op, finished or not: bitwise
// equal, infinities, subnormals, rounding ties and single NaNs included. Where two or more inputs
// of an element are NaN and the result is NaN, IEEE 754 leaves its payload open (x86 keeps the
// first operand's, and the compiler may order a commutative op either way), so there both must
// give a NaN.
TEST_CASE_TEMPLATE("reduce: half and bfloat16 take the same bits on every path", T, colt::half,
                   colt::bfloat16) {
  using colt::detail::WideTier;
  const WideTier best = colt::detail::wide_16bit_tier();
  const std::string type = std::is_same_v<T, colt::bfloat16> ? "bfloat16" : "half";
  MESSAGE("16-bit loop on this CPU for " << type << ": " << wide_loop_name(best));
  std::vector<WideTier> tiers;
  for (WideTier tier : {WideTier::portable, WideTier::avx2, WideTier::avx512})
    if (tier <= best) tiers.push_back(tier);
  constexpr std::size_t n = 1 << 16;
  std::vector<T> a(n), b(n), c(n);
  std::mt19937_64 rng(colt::test::base_seed() + 3);
  for (std::size_t i = 0; i < n; ++i) a[i] = T::from_bits(static_cast<std::uint16_t>(i));
  b = a;
  c = a;
  std::shuffle(b.begin(), b.end(), rng);
  std::shuffle(c.begin(), c.end(), rng);
  const auto is_nan = [](T x) { return std::isnan(static_cast<float>(x)); };
  // The first element that differs (-1: none), given how many of its inputs are NaN.
  const auto first_difference = [&](const std::vector<T>& x, const std::vector<T>& y,
                                    std::size_t count, auto nan_inputs) {
    for (std::size_t i = 0; i < count; ++i) {
      const bool same =
          x[i].to_bits() == y[i].to_bits() || (nan_inputs(i) >= 2 && is_nan(x[i]) && is_nan(y[i]));
      if (!same) return static_cast<long>(i);
    }
    return -1L;
  };
  for_each_op([&](auto op) {
    using Op = decltype(op);
    const std::string name(Op::name);
    for (int ranks : {colt::unfinished, 1, 3}) {
      CAPTURE(name);
      CAPTURE(ranks);
      const std::size_t pairs = n - 5;  // a ragged tail
      std::vector<T> portable(n);
      colt::reduce_pair_portable(op, portable.data(), a.data(), b.data(), pairs, ranks);
      const auto pair_nans = [&](std::size_t i) { return int{is_nan(a[i])} + int{is_nan(b[i])}; };
      const T* inputs[] = {a.data(), b.data(), c.data()};
      const std::size_t triples = n - 3;
      std::vector<T> portable_many(n);
      for (std::size_t i = 0; i < triples; ++i) {  // the portable fold, element by element
        float acc = static_cast<float>(a[i]);
        acc = op(op(acc, static_cast<float>(b[i])), static_cast<float>(c[i]));
        portable_many[i] = T(ranks > 0 ? colt::finish(op, acc, ranks) : acc);
      }
      const auto triple_nans = [&](std::size_t i) {
        return int{is_nan(a[i])} + int{is_nan(b[i])} + int{is_nan(c[i])};
      };
      for (WideTier tier : tiers) {
        const std::string loop = wide_loop_name(tier);
        CAPTURE(loop);
        std::vector<T> wide(n);
        colt::detail::reduce_pair_on(tier, op, wide.data(), a.data(), b.data(), pairs, ranks);
        CHECK(first_difference(wide, portable, pairs, pair_nans) == -1);
        colt::detail::reduce_many_on(
            tier, op, wide.data(), 3, [&](std::size_t i) { return inputs[i]; }, triples, ranks);
        CHECK(first_difference(wide, portable_many, triples, triple_nans) == -1);
      }
      std::vector<T> chosen(n);  // the front doors choose `best`
      colt::reduce_pair(op, chosen.data(), a.data(), b.data(), pairs, ranks);
      CHECK(first_difference(chosen, portable, pairs, pair_nans) == -1);
      colt::reduce_many(op, chosen.data(), std::span<const T* const>(inputs), triples, ranks);
      CHECK(first_difference(chosen, portable_many, triples, triple_nans) == -1);
    }
  });
}
