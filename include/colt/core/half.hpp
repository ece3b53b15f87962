#pragma once
// colt::half: IEEE 754 binary16, layout-compatible with CUDA's __half (one uint16_t, so buffers
// can be handed to device code as is). Conversions are constexpr bit manipulation, round to
// nearest even. No operator==: bit equality would disagree with IEEE (NaN, +-0); compare
// to_bits() or convert to float.

#include "colt/core/detail/float_bits.hpp"

#include <cstdint>
#include <type_traits>

namespace colt {

struct half {
  std::uint16_t bits = 0;

  half() = default;
  explicit constexpr half(float f) noexcept : bits(detail::narrow_half(f)) {}
  // Rounded directly from double: going through float would round twice.
  explicit constexpr half(double d) noexcept : bits(detail::narrow_rne<5, 10>(d)) {}

  static constexpr half from_bits(std::uint16_t b) noexcept {
    half h;
    h.bits = b;
    return h;
  }
  constexpr std::uint16_t to_bits() const noexcept { return bits; }

  // Exact: every binary16 value is a float.
  explicit constexpr operator float() const noexcept { return detail::widen_half(bits); }
  explicit constexpr operator double() const noexcept { return double(float(*this)); }
};

static_assert(sizeof(half) == 2);
static_assert(alignof(half) == 2);
static_assert(std::is_standard_layout_v<half> && std::is_trivially_copyable_v<half>);

}  // namespace colt
