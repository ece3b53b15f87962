#pragma once
// The element types colt moves and reduces, and a runtime tag for each (for messages and
// descriptors that must name a type across a wire).

#include <concepts>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "colt/core/bfloat16.hpp"
#include "colt/core/half.hpp"

namespace colt {

enum class DataType : std::uint8_t { float32, float64, int32, int64, float16, bfloat16 };

template <class T>
concept Element =
    std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::int32_t> ||
    std::same_as<T, std::int64_t> || std::same_as<T, half> || std::same_as<T, bfloat16>;

// 16-bit floats are stored narrow but computed in float (see ops.hpp).
template <class T>
concept NarrowFloat = std::same_as<T, half> || std::same_as<T, bfloat16>;

template <Element T>
inline constexpr DataType data_type_of = [] {
  if constexpr (std::same_as<T, float>)
    return DataType::float32;
  else if constexpr (std::same_as<T, double>)
    return DataType::float64;
  else if constexpr (std::same_as<T, std::int32_t>)
    return DataType::int32;
  else if constexpr (std::same_as<T, std::int64_t>)
    return DataType::int64;
  else if constexpr (std::same_as<T, half>)
    return DataType::float16;
  else
    return DataType::bfloat16;
}();

constexpr std::string_view name_of(DataType type) noexcept {
  switch (type) {
    case DataType::float32: return "float32";
    case DataType::float64: return "float64";
    case DataType::int32: return "int32";
    case DataType::int64: return "int64";
    case DataType::float16: return "float16";
    case DataType::bfloat16: return "bfloat16";
  }
  return "unknown";
}

// The type arithmetic happens in: float for the 16-bit types, the type itself otherwise.
template <Element T>
using compute_type_t = std::conditional_t<NarrowFloat<T>, float, T>;

}  // namespace colt
