#pragma once
// What the `v` collectives accept as per-rank counts: any contiguous range of integers, such as
// std::vector<std::size_t>, or std::vector<int> as MPI programs keep them. They are read as
// std::size_t: size_t counts in place, others copied. A negative count becomes a value no buffer
// can hold, which the argument checks refuse, naming it as negative (ArgsCheck::counts).

#include <concepts>
#include <cstddef>
#include <ranges>
#include <span>
#include <type_traits>
#include <vector>

namespace colt {

template <class R>
concept CountRange = std::ranges::contiguous_range<R> && std::ranges::sized_range<R> &&
                     std::integral<std::remove_cv_t<std::ranges::range_value_t<R>>> &&
                     !std::same_as<std::remove_cv_t<std::ranges::range_value_t<R>>, bool>;

namespace detail {

// A copy, for a started call, which outlives the caller's counts.
template <CountRange R>
std::vector<std::size_t> copy_counts(const R& counts) {
  std::vector<std::size_t> copy;
  copy.reserve(std::ranges::size(counts));
  for (const auto c : counts) copy.push_back(static_cast<std::size_t>(c));  // -2: 2^64 - 2
  return copy;
}

// The counts as std::size_t, for the length of the call: a view of size_t counts, or a copy.
template <CountRange R>
auto size_counts(const R& counts) {
  using Value = std::remove_cv_t<std::ranges::range_value_t<R>>;
  if constexpr (std::same_as<Value, std::size_t>)
    return std::span<const std::size_t>(std::ranges::data(counts), std::ranges::size(counts));
  else
    return copy_counts(counts);
}

}  // namespace detail
}  // namespace colt
