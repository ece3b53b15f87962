#pragma once
// Where a buffer lives, in its type. colt::device_span<T> is a pointer and a count in device
// memory: it is not a range, so no host algorithm can read it by mistake, and collectives given
// one choose their copies and reducer at compile time from its memory space `Space`.
//
// The default space, colt::cuda::Memory, is only declared here: host code can name and pass
// device spans without CUDA, and calling a collective on one needs <colt/cuda/collectives.cuh>
// in a .cu file (which defines the space: streams, copies, kernels). Tests bring their own
// space (tests/support/simulated_device.hpp) to run the device code path on the host.
//
// colt::DeviceStream is the stream a device call is ordered on: a cudaStream_t, or the default
// stream. It is typed so that only a stream passes for one (the call took a void* before), and
// it needs no CUDA header: cudaStream_t is a pointer to CUDA's struct CUstream_st, which is
// declared here as CUDA declares it.

#include <cstddef>
#include <type_traits>

#include "colt/core/types.hpp"

struct CUstream_st;  // NOLINT(readability-identifier-naming): CUDA's name, declared as CUDA does

namespace colt {

namespace cuda {
struct Memory;
}

class DeviceStream {
 public:
  constexpr DeviceStream() noexcept = default;  // the default stream
  // Implicit, so that a cudaStream_t (or nullptr) is passed as it is.
  constexpr DeviceStream(CUstream_st* stream) noexcept  // NOLINT(google-explicit-constructor)
      : stream_(stream) {}
  constexpr CUstream_st* get() const noexcept { return stream_; }

 private:
  CUstream_st* stream_ = nullptr;
};

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
