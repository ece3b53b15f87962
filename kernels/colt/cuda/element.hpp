#pragma once
// Element conversions for kernels: colt's 16-bit types are widened to float and rounded back
// once, to nearest even, exactly as the host reducers do, so a GPU result is bitwise the host's.
// In device code the conversions are CUDA's intrinsics on the same bits (colt::half and __half
// share one uint16_t layout); in host code (and the host test of the kernel body) they are
// colt's own. Plain C++: g++ compiles this header too.

#include <type_traits>

#include "colt/core/config.hpp"
#include "colt/core/types.hpp"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace colt::cuda {

template <Element T>
COLT_HOST_DEVICE compute_type_t<T> to_compute(T value) {
  if constexpr (std::is_same_v<T, half>) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(value.bits));
#else
    return static_cast<float>(value);
#endif
  } else if constexpr (std::is_same_v<T, bfloat16>) {
#if defined(__CUDA_ARCH__)
    return __bfloat162float(__ushort_as_bfloat16(value.bits));
#else
    return static_cast<float>(value);
#endif
  } else {
    return value;
  }
}

template <Element T>
COLT_HOST_DEVICE T from_compute(compute_type_t<T> value) {
  if constexpr (std::is_same_v<T, half>) {
#if defined(__CUDA_ARCH__)
    T out;
    out.bits = __half_as_ushort(__float2half_rn(value));
    return out;
#else
    return T(value);
#endif
  } else if constexpr (std::is_same_v<T, bfloat16>) {
#if defined(__CUDA_ARCH__)
    T out;
    out.bits = __bfloat16_as_ushort(__float2bfloat16_rn(value));
    return out;
#else
    return T(value);
#endif
  } else {
    return value;
  }
}

// The colt type a CUDA element type stands for: __half is colt::half, __nv_bfloat16 is
// colt::bfloat16 (same size, same bits), every other type is itself.
template <class T>
struct colt_element {
  using type = T;
};
#if defined(__CUDACC__)
template <>
struct colt_element<__half> {
  using type = half;
};
template <>
struct colt_element<__nv_bfloat16> {
  using type = bfloat16;
};
static_assert(sizeof(__half) == sizeof(half) && alignof(__half) == alignof(half));
static_assert(sizeof(__nv_bfloat16) == sizeof(bfloat16) &&
              alignof(__nv_bfloat16) == alignof(bfloat16));
#endif
template <class T>
using colt_element_t = typename colt_element<std::remove_cv_t<T>>::type;

}  // namespace colt::cuda
