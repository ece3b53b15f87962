#pragma once
// Conversions between float/double and 16-bit IEEE-style formats (binary16, bfloat16), done on
// the integer encodings: constexpr, portable (no intrinsics, no FP environment), and rounding
// exactly once. Going double -> float -> 16-bit would round twice and can miss the nearest value.

#include <bit>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace colt::detail {

template <class F>
using float_uint_t = std::conditional_t<sizeof(F) == 4, std::uint32_t, std::uint64_t>;

// x rounded to a 1+ExpBits+ManBits format, ties to even. Overflow gives Inf. NaN stays NaN, made
// quiet, keeping sign and top payload bits (plain truncation would turn a low-payload NaN into
// Inf).
template <int ExpBits, int ManBits, class F>
constexpr std::uint16_t narrow_rne(F x) noexcept {
  static_assert(std::numeric_limits<F>::is_iec559 && (sizeof(F) == 4 || sizeof(F) == 8));
  using U = float_uint_t<F>;
  constexpr int src_man = std::numeric_limits<F>::digits - 1;
  constexpr int src_exp = int(sizeof(F)) * 8 - 1 - src_man;
  constexpr int src_bias = (1 << (src_exp - 1)) - 1;
  constexpr int dst_bias = (1 << (ExpBits - 1)) - 1;
  constexpr int dst_exp_max = (1 << ExpBits) - 1;
  // The source must be wider in both fields so only rounding down in precision/range is needed.
  static_assert(1 + ExpBits + ManBits == 16 && ManBits < src_man && ExpBits <= src_exp);

  const U u = std::bit_cast<U>(x);
  const auto sign = static_cast<std::uint16_t>((u >> (src_exp + src_man)) << 15);
  const int exp = static_cast<int>((u >> src_man) & ((U{1} << src_exp) - 1));
  const U man = u & ((U{1} << src_man) - 1);
  const auto inf = static_cast<std::uint16_t>(sign | (dst_exp_max << ManBits));

  if (exp == (1 << src_exp) - 1) {
    if (man == 0) return inf;
    const auto payload = static_cast<std::uint16_t>(man >> (src_man - ManBits));
    return static_cast<std::uint16_t>(inf | (1u << (ManBits - 1)) | payload);
  }
  // |x| = sig * 2^(e - src_man); subnormal sources have no implicit bit and e = 1 - bias.
  const U sig = exp != 0 ? (man | (U{1} << src_man)) : man;
  const int de = (exp != 0 ? exp : 1) - src_bias + dst_bias;  // biased destination exponent
  if (de >= dst_exp_max) return inf;
  // Bits dropped: the extra mantissa width, plus the denormalising shift below the min normal.
  const int shift = (src_man - ManBits) + (de < 1 ? 1 - de : 0);
  if (shift > src_man + 1) return sign;  // below half the smallest subnormal (sig < 2^(src_man+1))
  U q = sig >> shift;
  const U rem = sig & ((U{1} << shift) - 1);
  const U halfway = U{1} << (shift - 1);
  if (rem > halfway || (rem == halfway && (q & 1) != 0)) ++q;
  // q keeps its implicit bit, so adding it to (de-1)<<ManBits lets a rounding carry ripple into
  // the exponent: the largest finite rounds up to Inf, the largest subnormal to the min normal.
  const U base = de < 1 ? U{0} : U(de - 1) << ManBits;
  return static_cast<std::uint16_t>(sign | (base + q));
}

// All ones if `condition`, else zero: a select without a branch.
constexpr std::uint32_t mask_if(bool condition) noexcept { return 0u - std::uint32_t{condition}; }

// float -> bfloat16 bits: exactly narrow_rne<8, 7>(x), without a branch. bfloat16 is float's
// top half, with the same exponent range, so rounding the bit pattern at bit 16 is rounding the
// value: through subnormals, and the largest finite up into Inf. NaN is chosen by a select, not
// a jump, so a loop over it vectorises (the 16-bit reductions run at float's speed, not at the
// general narrow_rne's, which GCC keeps scalar). tests/core/test_bfloat16.cpp compares the two.
constexpr std::uint16_t narrow_bfloat16(float x) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const std::uint32_t quiet_nan = (u >> 16) | 0x40u;  // sign, all-ones exponent, top payload
  const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  return static_cast<std::uint16_t>(nan ? quiet_nan : rounded);
}

// float -> binary16 bits: exactly narrow_rne<5, 10>(x), branch-free (selects) for the same
// reason. Normal results round the bit pattern at bit 13 and rebias the exponent; subnormal
// ones come from adding 0.5f, whose float ulp is binary16's smallest subnormal (2^-24), so the
// FPU rounds to nearest even; NaN keeps sign and top payload, quiet; overflow gives Inf. Needs
// the default rounding mode (as all of colt's float arithmetic).
constexpr std::uint16_t narrow_half(float x) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(x);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t a = u & 0x7FFFFFFFu;
  const std::uint32_t normal = ((a + 0xFFFu + ((a >> 13) & 1u)) >> 13) - (112u << 10);
  const std::uint32_t subnormal =
      std::bit_cast<std::uint32_t>(std::bit_cast<float>(a) + 0.5f) - 0x3F000000u;
  const std::uint32_t nan = 0x7E00u | ((a >> 13) & 0x3FFu);
  // Selects as masks, not ?:, so no branch is ever formed around the float addition (GCC will
  // not if-convert a branch holding a float operation under its default -ftrapping-math).
  const std::uint32_t is_nan = mask_if(a > 0x7F800000u);
  const std::uint32_t is_inf = mask_if(a >= 0x477FF000u) & ~is_nan;  // past 65504: Inf
  const std::uint32_t is_sub = mask_if(a < 0x38800000u);
  const std::uint32_t finite = (subnormal & is_sub) | (normal & ~is_sub);
  const std::uint32_t magnitude =
      (nan & is_nan) | (0x7C00u & is_inf) | (finite & ~(is_nan | is_inf));
  return static_cast<std::uint16_t>(sign | magnitude);
}

// binary16 bits -> float, exact and branch-free: normals rebias the exponent, Inf/NaN keep
// their payload under an all-ones exponent, subnormals are m * 2^-24 (an exact float
// subtraction).
constexpr float widen_half(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t shifted = std::uint32_t{h & 0x7FFFu} << 13;
  const std::uint32_t exponent = h & 0x7C00u;
  const std::uint32_t subnormal = std::bit_cast<std::uint32_t>(
      std::bit_cast<float>(0x38800000u | shifted) - std::bit_cast<float>(0x38800000u));
  const std::uint32_t is_special = mask_if(exponent == 0x7C00u);
  const std::uint32_t is_sub = mask_if(exponent == 0);
  const std::uint32_t magnitude = ((shifted | 0x7F800000u) & is_special) | (subnormal & is_sub) |
                                  ((shifted + 0x38000000u) & ~(is_special | is_sub));
  return std::bit_cast<float>(sign | magnitude);
}

// Exact widening of a 1+ExpBits+ManBits format with a narrower exponent range than float (so
// its subnormals become float normals). NaN payloads are kept.
template <int ExpBits, int ManBits>
constexpr float widen_to_float(std::uint16_t h) noexcept {
  static_assert(1 + ExpBits + ManBits == 16 && ExpBits < 8);
  constexpr int bias = (1 << (ExpBits - 1)) - 1;
  constexpr int exp_max = (1 << ExpBits) - 1;
  constexpr std::uint32_t man_mask = (1u << ManBits) - 1;
  const std::uint32_t sign = std::uint32_t{h} >> 15 << 31;
  int exp = (h >> ManBits) & exp_max;
  std::uint32_t man = h & man_mask;
  if (exp == exp_max) {
    exp = 255;
  } else if (exp == 0) {
    if (man == 0) return std::bit_cast<float>(sign);
    exp = 1;
    while ((man & (man_mask + 1)) == 0) {  // normalise: move the leading one to the implicit bit
      man <<= 1;
      --exp;
    }
    man &= man_mask;
    exp += 127 - bias;
  } else {
    exp += 127 - bias;
  }
  return std::bit_cast<float>(sign | std::uint32_t(exp) << 23 | man << (23 - ManBits));
}

}  // namespace colt::detail
