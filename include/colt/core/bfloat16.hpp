#pragma once
// colt::bfloat16: the upper 16 bits of a float32, layout-compatible with CUDA's __nv_bfloat16.
// Narrowing rounds to nearest even (not truncation) and keeps NaN a NaN; widening is a shift.
// No operator==: bit equality would disagree with IEEE (NaN, +-0); compare to_bits().

#include "colt/core/detail/float_bits.hpp"

#include <bit>
#include <cstdint>
#include <type_traits>

namespace colt {

struct bfloat16 {
  std::uint16_t bits = 0;

  bfloat16() = default;
  explicit constexpr bfloat16(float f) noexcept : bits(detail::narrow_bfloat16(f)) {}
  // Rounded directly from double: going through float would round twice.
  explicit constexpr bfloat16(double d) noexcept : bits(detail::narrow_rne<8, 7>(d)) {}

  static constexpr bfloat16 from_bits(std::uint16_t b) noexcept {
    bfloat16 h;
    h.bits = b;
    return h;
  }
  constexpr std::uint16_t to_bits() const noexcept { return bits; }

  explicit constexpr operator float() const noexcept {
    return std::bit_cast<float>(std::uint32_t{bits} << 16);
  }
  explicit constexpr operator double() const noexcept { return double(float(*this)); }
};

static_assert(sizeof(bfloat16) == 2);
static_assert(alignof(bfloat16) == 2);
static_assert(std::is_standard_layout_v<bfloat16> && std::is_trivially_copyable_v<bfloat16>);

}  // namespace colt
