#include <doctest/doctest.h>

#include <colt/core/half.hpp>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

namespace {

using colt::half;

// Slow reference, independent of the bit tricks: value of a half bit pattern via ldexp, the
// bracketing pair by binary search, and the choice by comparing with their midpoint (exact in
// double). The pattern one past 0x7BFF stands for 2^16, so rounding to it means overflow to Inf.
double ref_value(std::uint32_t mag) {
  const int e = int(mag >> 10);
  const double m = double(mag & 0x3FF);
  return e == 0 ? std::ldexp(m, -24) : std::ldexp(m + 1024, e - 25);
}

std::uint16_t ref_round(double x) {  // x is not NaN
  const std::uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(x);
  std::uint32_t lo = 0, hi = 0x7C00;  // value(lo) <= a < value(hi)
  if (a >= ref_value(hi)) return std::uint16_t(sign | hi);
  while (hi - lo > 1) {
    const std::uint32_t mid = (lo + hi) / 2;
    (ref_value(mid) <= a ? lo : hi) = mid;
  }
  const double midpoint = (ref_value(lo) + ref_value(hi)) / 2;
  const std::uint32_t pick = a < midpoint ? lo : a > midpoint ? hi : (lo % 2 == 0 ? lo : hi);
  return std::uint16_t(sign | pick);
}

bool is_nan_bits(std::uint16_t b) { return (b & 0x7C00) == 0x7C00 && (b & 0x03FF) != 0; }

std::uint16_t bits_of(float f) { return half(f).to_bits(); }
std::uint16_t bits_of(double d) { return half(d).to_bits(); }
float from_u32(std::uint32_t u) { return std::bit_cast<float>(u); }

}  // namespace

static_assert(half(1.0f).to_bits() == 0x3C00);
static_assert(half(-2.0).to_bits() == 0xC000);
static_assert(float(half::from_bits(0x0001)) == 0x1p-24f);
static_assert(half().to_bits() == 0);

TEST_CASE("half: known bit patterns from float and double") {
  struct Case {
    double value;
    std::uint16_t bits;
  };
  const Case cases[] = {
      {1.0, 0x3C00},
      {-2.0, 0xC000},
      {0.0, 0x0000},
      {65504.0, 0x7BFF},
      {65519.99, 0x7BFF},
      {65520.0, 0x7C00},  // tie above the max, 0x7BFF is odd: rounds up to Inf
      {-65520.0, 0xFC00},
      {0x1p-24, 0x0001},                // smallest subnormal
      {0x1p-25, 0x0000},                // tie with zero: to even
      {3 * 0x1p-26, 0x0001},            // 0.75 of the smallest subnormal
      {0x1.8p-25 * 0.75, 0x0001},       // 0.5625 of it
      {1023 * 0x1p-24, 0x03FF},         // largest subnormal
      {1023.5 * 0x1p-24, 0x0400},       // tie, 0x03FF odd: up to the min normal
      {0x1p-14, 0x0400},                // min normal
      {1 + 0x1p-11, 0x3C00},            // tie to even (down)
      {1 + 3 * 0x1p-11, 0x3C02},        // tie to even (up)
      {1 + 0x1p-11 + 0x1p-20, 0x3C01},  // just above the tie
      {0.1f, 0x2E66},
      {3.14159265358979, 0x4248},
      {1e-10, 0x0000},
      {-1e-10, 0x8000},
      {double(FLT_MAX), 0x7C00},
  };
  for (const Case& c : cases) {
    CAPTURE(c.value);
    CHECK(bits_of(c.value) == c.bits);
    if (double(float(c.value)) == c.value) CHECK(bits_of(float(c.value)) == c.bits);
  }
  CHECK(bits_of(-0.0f) == 0x8000);
  CHECK(bits_of(-0.0) == 0x8000);
  CHECK(bits_of(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(bits_of(-std::numeric_limits<float>::infinity()) == 0xFC00);
  CHECK(bits_of(std::numeric_limits<double>::infinity()) == 0x7C00);
  CHECK(bits_of(-std::numeric_limits<double>::infinity()) == 0xFC00);
  CHECK(bits_of(FLT_MAX) == 0x7C00);
  CHECK(bits_of(from_u32(1)) == 0x0000);  // float subnormal
}

TEST_CASE("half: NaN stays a quiet NaN with sign and top payload") {
  CHECK(is_nan_bits(bits_of(std::numeric_limits<float>::quiet_NaN())));
  CHECK(is_nan_bits(bits_of(std::numeric_limits<double>::quiet_NaN())));
  CHECK(bits_of(from_u32(0x7F800001)) == 0x7E00);  // only low payload bits: still NaN
  CHECK(bits_of(from_u32(0xFF800001)) == 0xFE00);
  CHECK(bits_of(from_u32(0x7FD00000)) == 0x7E80);  // top payload bit kept
  CHECK(bits_of(std::bit_cast<double>(0x7FF0000000000001ull)) == 0x7E00);
  CHECK(bits_of(std::bit_cast<double>(0xFFF4000000000000ull)) == 0xFF00);
  CHECK(std::isnan(float(half::from_bits(0x7C01))));
  CHECK(std::isnan(double(half::from_bits(0xFE00))));
}

TEST_CASE("half: exhaustive widening and round trip") {
  int bad_value = 0, bad_trip = 0;
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b) {
    const half h = half::from_bits(std::uint16_t(b));
    const float f = float(h);
    const double d = double(h);
    if (is_nan_bits(h.to_bits())) {
      if (!std::isnan(f) || !std::isnan(d) || !is_nan_bits(bits_of(f)) || !is_nan_bits(bits_of(d)))
        ++bad_trip;
      continue;
    }
    const double expect =
        (b & 0x8000 ? -1 : 1) *
        ((b & 0x7C00) == 0x7C00 ? std::numeric_limits<double>::infinity() : ref_value(b & 0x7FFF));
    if (double(f) != expect || d != expect || std::signbit(f) != bool(b & 0x8000)) ++bad_value;
    if (bits_of(f) != b || bits_of(d) != b) ++bad_trip;
  }
  CHECK(bad_value == 0);
  CHECK(bad_trip == 0);
}

TEST_CASE("half: random floats against the reference") {
  const std::uint32_t seed = 0xC0117u;
  CAPTURE(seed);
  std::mt19937 rng(seed);
  int mismatches = 0;
  std::uint32_t first_bad = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    std::uint32_t u = std::uint32_t(rng());
    if (i % 2 == 1) {  // half the samples with exponents near the binary16 range
      const std::uint32_t exp = 127 - 27 + std::uint32_t(rng() % 46);
      u = (u & 0x807FFFFFu) | exp << 23;
    }
    const float f = from_u32(u);
    if (std::isnan(f)) continue;
    if (bits_of(f) != ref_round(double(f)) && mismatches++ == 0) first_bad = u;
  }
  CAPTURE(first_bad);
  CHECK(mismatches == 0);
}

TEST_CASE("half: random doubles against the reference, incl. double-rounding traps") {
  const std::uint32_t seed = 0xD0B1Eu;
  CAPTURE(seed);
  std::mt19937_64 rng(seed);
  int mismatches = 0;
  std::uint64_t first_bad = 0;
  for (int i = 0; i < 1'000'000; ++i) {
    const std::uint64_t exp = 1023 - 30 + rng() % 50;
    const std::uint64_t u = (rng() & 0x800FFFFFFFFFFFFFull) | exp << 52;
    const double d = std::bit_cast<double>(u);
    if (bits_of(d) != ref_round(d) && mismatches++ == 0) first_bad = u;
  }
  CAPTURE(first_bad);
  CHECK(mismatches == 0);

  // d = midpoint of two adjacent halves +- a tiny offset. float(d) is the midpoint itself, so
  // double -> float -> half would resolve a tie; the direct conversion must follow the offset.
  int traps = 0, via_float_wrong = 0, trap_mismatches = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::uint32_t lo = std::uint32_t(rng() % 0x7C00);
    const double mid = (ref_value(lo) + ref_value(lo + 1)) / 2;
    const bool up = rng() % 2 == 1;
    const double offset = std::ldexp(mid, -30 - int(rng() % 20));
    const double d = (rng() % 2 ? -1 : 1) * (up ? mid + offset : mid - offset);
    if (double(float(d)) != (d < 0 ? -mid : mid)) continue;
    ++traps;
    const std::uint16_t expect = std::uint16_t((d < 0 ? 0x8000 : 0) | (up ? lo + 1 : lo));
    if (bits_of(d) != expect || ref_round(d) != expect) ++trap_mismatches;
    if (bits_of(float(d)) != expect) ++via_float_wrong;
  }
  CHECK(traps == 100'000);
  CHECK(trap_mismatches == 0);
  CHECK(via_float_wrong > 10'000);  // the traps do catch double rounding
}

TEST_CASE("half: the branch-free conversions equal the general ones, NaN payloads included") {
  // Widening: all 65536 patterns, compared as bits (NaN payloads too).
  int bad_widening = 0;
  for (std::uint32_t b = 0; b <= 0xFFFF; ++b)
    if (std::bit_cast<std::uint32_t>(colt::detail::widen_half(std::uint16_t(b))) !=
        std::bit_cast<std::uint32_t>(colt::detail::widen_to_float<5, 10>(std::uint16_t(b))))
      ++bad_widening;
  CHECK(bad_widening == 0);
  // Narrowing: every 251st float bit pattern, and every pattern where rounding changes shape:
  // the subnormal range and its edge, the largest finite values and the overflow to Inf, the
  // NaN boundary, of both signs. (Checked exhaustively over all 2^32 when written.)
  std::uint64_t mismatches = 0;
  std::uint32_t first_bad = 0;
  const auto check = [&](std::uint32_t u) {
    const float f = std::bit_cast<float>(u);
    if (colt::detail::narrow_half(f) != colt::detail::narrow_rne<5, 10>(f) && mismatches++ == 0)
      first_bad = u;
  };
  for (std::uint64_t u = 0; u <= 0xFFFFFFFFu; u += 251) check(static_cast<std::uint32_t>(u));
  for (std::uint32_t sign : {0u, 0x80000000u})
    for (std::uint32_t start : {0x32800000u, 0x38780000u, 0x477F0000u, 0x7F800000u - 0x20000u})
      for (std::uint32_t u = start; u < start + 0x40000u; ++u) check(sign | u);
  CAPTURE(first_bad);
  CHECK(mismatches == 0);
}
