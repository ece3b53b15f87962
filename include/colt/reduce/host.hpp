#pragma once
// Host reducers: contiguous loops the compiler vectorises. The 16-bit types are widened to float,
// reduced, and rounded once per output element. `ranks` > 0 applies the op's epilogue (the
// division of `avg`) before that single rounding; 0 leaves the value unfinished.
//
// half and bfloat16 with the built-in ops take wider loops where the CPU has them, asked once at
// run time (detail/wide_16bit.hpp, bitwise the same results): AVX2 + F16C, then AVX-512, for
// both. The portable loops here do the rest, the tails, and everything elsewhere.

#include <algorithm>
#include <cstddef>
#include <span>

#include "colt/core/ops.hpp"
#include "colt/core/types.hpp"
#include "colt/reduce/detail/wide_16bit.hpp"

namespace colt {

inline constexpr int unfinished = 0;

// reduce_pair's portable loops (what every CPU runs).
template <class Op, Element T>
  requires ReductionFor<Op, T>
void reduce_pair_portable(Op op, T* out, const T* a, const T* b, std::size_t count, int ranks) {
  using C = compute_type_t<T>;
  if (ranks > 0) {
    for (std::size_t i = 0; i < count; ++i)
      out[i] = static_cast<T>(finish(op, op(static_cast<C>(a[i]), static_cast<C>(b[i])), ranks));
  } else {
    for (std::size_t i = 0; i < count; ++i)
      out[i] = static_cast<T>(op(static_cast<C>(a[i]), static_cast<C>(b[i])));
  }
}

namespace detail {

// reduce_pair on the loops of `tier` (at most wide_16bit_tier()): the tests force each tier.
template <class Op, Element T>
  requires ReductionFor<Op, T>
void reduce_pair_on(WideTier tier, Op op, T* out, const T* a, const T* b, std::size_t count,
                    int ranks) {
  if constexpr (has_wide_16bit<Op, T>) {
    const std::size_t done = reduce_pair_wide<Op>(tier, out, a, b, count, ranks);
    out += done, a += done, b += done, count -= done;
  }
  reduce_pair_portable(op, out, a, b, count, ranks);
}

}  // namespace detail

// Never inlined: the loop is compiled once per (op, type), the same whatever the caller. Inlined
// into a large caller (an algorithm inlined into its front door), GCC vectorised it worse, and
// the large ring all_reduce was measurably slower (docs/performance.md, "Figures behind the
// code"). One call per chunk costs nothing.
template <class Op, Element T>
  requires ReductionFor<Op, T>
[[gnu::noinline]] void reduce_pair(Op op, T* out, const T* a, const T* b, std::size_t count,
                                   int ranks) {
  if constexpr (detail::has_wide_16bit<Op, T>)
    detail::reduce_pair_on(detail::wide_16bit_tier(), op, out, a, b, count, ranks);
  else
    reduce_pair_portable(op, out, a, b, count, ranks);
}

namespace detail {

// reduce_many_at on the loops of `tier` (at most wide_16bit_tier()): the tests force each tier.
template <class Op, Element T, class InputAt>
  requires ReductionFor<Op, T>
void reduce_many_on(WideTier tier, Op op, T* out, std::size_t k, InputAt&& input, std::size_t count,
                    int ranks) {
  using C = compute_type_t<T>;
  constexpr std::size_t block = 1024;  // accumulators stay in L1 while inputs stream through
  C acc[block];
  for (std::size_t start = 0; start < count; start += block) {
    std::size_t base = start, m = std::min(block, count - start);
    if constexpr (has_wide_16bit<Op, T>) {  // the block's first elements a vector at a time
      const std::size_t done = reduce_many_wide<Op>(tier, out, k, input, base, m, ranks);
      base += done;
      m -= done;
    }
    const T* first = input(0) + base;
    for (std::size_t i = 0; i < m; ++i) acc[i] = static_cast<C>(first[i]);
    for (std::size_t j = 1; j < k; ++j) {
      const T* in = input(j) + base;
      for (std::size_t i = 0; i < m; ++i) acc[i] = op(acc[i], static_cast<C>(in[i]));
    }
    T* o = out + base;
    if (ranks > 0) {
      for (std::size_t i = 0; i < m; ++i) o[i] = static_cast<T>(finish(op, acc[i], ranks));
    } else {
      for (std::size_t i = 0; i < m; ++i) o[i] = static_cast<T>(acc[i]);
    }
  }
}

}  // namespace detail

// out = finish(in(0) op in(1) op ... op in(k-1)) in one pass over memory, in input order, so the
// result is the same on every rank that reduces the same inputs. `out` may alias any input.
// `input(i)` gives the i-th input's first element.
template <class Op, Element T, class InputAt>
  requires ReductionFor<Op, T>
void reduce_many_at(Op op, T* out, std::size_t k, InputAt&& input, std::size_t count, int ranks) {
  const detail::WideTier tier =
      detail::has_wide_16bit<Op, T> ? detail::wide_16bit_tier() : detail::WideTier::portable;
  detail::reduce_many_on(tier, op, out, k, input, count, ranks);
}

template <class Op, Element T>
  requires ReductionFor<Op, T>
void reduce_many(Op op, T* out, std::span<const T* const> inputs, std::size_t count, int ranks) {
  reduce_many_at(
      op, out, inputs.size(), [&](std::size_t i) { return inputs[i]; }, count, ranks);
}

}  // namespace colt
