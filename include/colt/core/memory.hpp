#pragma once
// Where a buffer lives, in its type. colt::device_span<T> is a pointer and a count in device
// memory: it is not a range, so no host algorithm can read it by mistake, and collectives given
// one choose their copies and reducer at compile time from its memory space `Space`.
//
// The default space, colt::cuda::Memory, is only declared here: host code can name and pass
// device spans without CUDA, and calling a collective on one needs <colt/cuda/collectives.cuh>
// in a .cu file (which defines the space: streams, copies, kernels). Tests bring their own
// space (tests/support/simulated_device.hpp) to run the device code path on the host.

#include <cstddef>
#include <type_traits>

#include "colt/core/types.hpp"

namespace colt {

namespace cuda {
struct Memory;
}

template <class T, class Space = cuda::Memory>
  requires Element<std::remove_const_t<T>>
class device_span {
 public:
  using element_type = T;
  using space_type = Space;

  constexpr device_span() noexcept = default;
  constexpr device_span(T* data, std::size_t size) noexcept : data_(data), size_(size) {}
  // A span of T converts to a span of const T, as std::span does.
  template <class U>
    requires std::is_same_v<const U, T> && (!std::is_same_v<U, T>)
  constexpr device_span(device_span<U, Space> other) noexcept
      : data_(other.data()), size_(other.size()) {}

  constexpr T* data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr std::size_t size_bytes() const noexcept { return size_ * sizeof(T); }
  constexpr bool empty() const noexcept { return size_ == 0; }
  constexpr device_span subspan(std::size_t offset, std::size_t count) const noexcept {
    return {data_ + offset, count};
  }
  constexpr device_span first(std::size_t count) const noexcept { return {data_, count}; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace colt
