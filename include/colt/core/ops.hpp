#pragma once
// Reductions: small stateless function objects applied in the compute type of an element
// (float for half/bfloat16, the type itself otherwise). `ReductionFor<Op, T>` is the contract a
// collective checks at compile time, so an unsupported (op, type) pair never reaches run time.
//
// Integer sum and prod wrap modulo 2^bits (as NCCL and two's complement hardware do) instead
// of overflowing into undefined behaviour. `avg` is a sum whose result is divided by the number
// of ranks once, at the end, by whoever produces the final value.

#include <concepts>
#include <string_view>
#include <type_traits>

#include "colt/core/config.hpp"
#include "colt/core/types.hpp"

namespace colt {

namespace detail {
template <class C>
COLT_HOST_DEVICE constexpr C wrapping_add(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}
template <class C>
COLT_HOST_DEVICE constexpr C wrapping_mul(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}
}  // namespace detail

struct sum {
  static constexpr std::string_view name = "sum";
  template <class C>
  COLT_HOST_DEVICE constexpr C operator()(C a, C b) const {
    return detail::wrapping_add(a, b);
  }
};

struct prod {
  static constexpr std::string_view name = "prod";
  template <class C>
  COLT_HOST_DEVICE constexpr C operator()(C a, C b) const {
    return detail::wrapping_mul(a, b);
  }
};

struct min {
  static constexpr std::string_view name = "min";
  template <class C>
  COLT_HOST_DEVICE constexpr C operator()(C a, C b) const {
    return b < a ? b : a;
  }
};

struct max {
  static constexpr std::string_view name = "max";
  template <class C>
  COLT_HOST_DEVICE constexpr C operator()(C a, C b) const {
    return a < b ? b : a;
  }
};

struct avg {
  static constexpr std::string_view name = "avg";
  static constexpr bool divides_by_ranks = true;
  template <class C>
  COLT_HOST_DEVICE constexpr C operator()(C a, C b) const {
    return detail::wrapping_add(a, b);
  }
};

// An op whose final value is divided by the number of contributing ranks.
template <class Op>
concept AveragingOp = requires { requires Op::divides_by_ranks; };

template <class Op, class T>
concept ReductionFor = Element<T> && std::is_empty_v<Op> && std::default_initializable<Op> &&
                       requires(const Op op, compute_type_t<T> a) {
                         { op(a, a) } -> std::same_as<compute_type_t<T>>;
                       };

// The last step of a reduction: divides by `ranks` for averaging ops, nothing otherwise.
template <class Op, class C>
COLT_HOST_DEVICE constexpr C finish(Op, C value, int ranks) {
  if constexpr (AveragingOp<Op>) {
    return static_cast<C>(value / static_cast<C>(ranks));
  } else {
    (void)ranks;
    return value;
  }
}

}  // namespace colt
