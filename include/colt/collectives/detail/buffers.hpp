#pragma once
// What a collective accepts as a buffer: any contiguous sized range of a colt element type
// (std::vector, std::array, std::span, C arrays). Outputs must be writable.

#include <concepts>
#include <ranges>
#include <span>
#include <type_traits>

#include "colt/core/types.hpp"

namespace colt {

template <class R>
using element_t = std::remove_cv_t<std::ranges::range_value_t<R>>;

template <class R>
concept InputBuffer =
    std::ranges::contiguous_range<R> && std::ranges::sized_range<R> && Element<element_t<R>>;

template <class R>
concept OutputBuffer =
    InputBuffer<R> && !std::is_const_v<std::remove_reference_t<std::ranges::range_reference_t<R>>>;

// A buffer that a started call (iall_reduce, ...) may keep using after it returns: one the
// caller names (an lvalue), or a view of memory kept elsewhere (std::span). A temporary container
// is refused at compile time: it would be freed while the request still reads or writes it.
template <class R>
concept LastingInputBuffer = InputBuffer<R> && std::ranges::borrowed_range<R>;

template <class R>
concept LastingOutputBuffer = OutputBuffer<R> && std::ranges::borrowed_range<R>;

namespace detail {

template <InputBuffer R>
std::span<const element_t<R>> input_span(R&& r) {
  return {std::ranges::data(r), std::ranges::size(r)};
}

template <OutputBuffer R>
std::span<element_t<R>> output_span(R&& r) {
  return {std::ranges::data(r), std::ranges::size(r)};
}

}  // namespace detail
}  // namespace colt
