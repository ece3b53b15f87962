#pragma once
// colt::cuda::Memory: the memory space of colt::device_span (core/memory.hpp) for CUDA device
// memory. Copies are cudaMemcpyAsync (cudaMemcpyDefault: unified addressing finds the direction,
// and peer copies between GPUs), reductions are the fused kernel (reduce.cuh), both on the
// caller's stream; wait() synchronises that stream, and a fault found there becomes colt::Error.
//
// In-process ranks may each own a GPU: a kernel then reads a peer GPU's buffer directly where
// peer access can be enabled, and otherwise the peer's slice is first copied to this GPU.
// Staging buffers (for transports that move host memory only) are pinned, so copies to and from
// them run asynchronously on the copy engines; each rank's thread keeps its own and reuses them.

#include <cuda_runtime.h>

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "colt/cuda/launch.cuh"
#include "colt/cuda/reduce.cuh"
#include "colt/reduce/memory.hpp"

namespace colt::cuda {

namespace detail {

// Memory from a CUDA allocator, grown on demand, freed with its owner (a rank's thread).
// Pinned host memory stages copies for transports that move host memory only; device memory
// holds peers' slices this GPU cannot read directly.
template <cudaError_t (*allocate)(void**, std::size_t), cudaError_t (*release)(void*)>
class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;
  ~GrowingBuffer() {
    if (data_) (void)release(data_);
  }
  std::byte* reserve(std::size_t bytes) {
    if (bytes > capacity_) {
      if (data_) check(release(data_), "freeing a colt staging buffer");
      data_ = nullptr;
      capacity_ = 0;
      void* p = nullptr;
      check(allocate(&p, bytes), "allocating " + std::to_string(bytes) + " bytes of colt staging");
      data_ = static_cast<std::byte*>(p);
      capacity_ = bytes;
    }
    return data_;
  }

 private:
  std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
};

inline cudaError_t allocate_pinned(void** p, std::size_t bytes) {
  return cudaHostAlloc(p, bytes, cudaHostAllocPortable);
}
inline cudaError_t allocate_device(void** p, std::size_t bytes) { return cudaMalloc(p, bytes); }
inline cudaError_t free_device(void* p) { return cudaFree(p); }
using PinnedBuffer = GrowingBuffer<allocate_pinned, cudaFreeHost>;
using DeviceBuffer = GrowingBuffer<allocate_device, free_device>;

// The GPU a pointer's memory is on, or -1 for memory any GPU may read (host-pinned, managed).
inline int device_of(const void* p) {
  cudaPointerAttributes attributes{};
  check(cudaPointerGetAttributes(&attributes, p), "cudaPointerGetAttributes");
  return attributes.type == cudaMemoryTypeDevice ? attributes.device : -1;
}

// Whether kernels on `device` can read memory on `peer`; enables peer access the first time.
inline bool can_read(int device, int peer) {
  if (peer < 0 || peer == device) return true;
  int can = 0;
  check(cudaDeviceCanAccessPeer(&can, device, peer), "cudaDeviceCanAccessPeer");
  if (!can) return false;
  const cudaError_t status = cudaDeviceEnablePeerAccess(peer, 0);
  if (status == cudaErrorPeerAccessAlreadyEnabled) {
    (void)cudaGetLastError();  // clear it: enabling twice is not a failure
  } else {
    check(status, "cudaDeviceEnablePeerAccess");
  }
  return true;
}

}  // namespace detail

struct Memory {
  static constexpr bool device = true;
  // Chunk of the pipelined staging of all_reduce (collectives/device.hpp): large enough that the
  // per-call cost of the host collective is small beside the copy, small enough to overlap.
  static constexpr std::size_t staging_chunk_bytes = std::size_t{4} << 20;

  explicit Memory(DeviceStream stream) : stream_(stream.get()) {}

  cudaStream_t stream() const { return stream_; }

  template <class T>
  void copy(T* dst, const T* src, std::size_t count) {
    if (count == 0 || dst == src) return;
    check(cudaMemcpyAsync(dst, src, count * sizeof(T), cudaMemcpyDefault, stream_),
          "cudaMemcpyAsync");
  }

  // out = finish(in0 op ... op in(k-1)) in one kernel pass (k <= max_inputs; more inputs fold
  // max_inputs at a time into out, in input order).
  template <class Op, class T>
  void reduce(Op op, T* out, std::span<const T* const> inputs, std::size_t count, int ranks) {
    if (count == 0 || inputs.empty()) return;
    std::vector<const T*> readable = readable_inputs(inputs, count);
    std::span<const T* const> rest(readable);
    const std::size_t first = std::min<std::size_t>(rest.size(), max_inputs);
    reduce_many(op, out, rest.first(first), count, stream_,
                first == rest.size() ? ranks : unfinished);
    rest = rest.subspan(first);
    while (!rest.empty()) {
      const std::size_t take = std::min<std::size_t>(rest.size(), max_inputs - 1);
      std::vector<const T*> group{out};
      group.insert(group.end(), rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(take));
      rest = rest.subspan(take);
      reduce_many(op, out, std::span<const T* const>(group), count, stream_,
                  rest.empty() ? ranks : unfinished);
    }
  }

  void wait() { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }

  template <class T>
  std::span<T> staging(std::size_t count, int buffer) {
    thread_local detail::PinnedBuffer buffers[2];
    return {reinterpret_cast<T*>(buffers[buffer].reserve(count * sizeof(T))), count};
  }

 private:
  // The inputs, with any on a GPU this one cannot read replaced by a copy on this GPU.
  template <class T>
  std::vector<const T*> readable_inputs(std::span<const T* const> inputs, std::size_t count) {
    std::vector<const T*> readable(inputs.begin(), inputs.end());
    int here = 0;
    check(cudaGetDevice(&here), "cudaGetDevice");
    thread_local std::deque<detail::DeviceBuffer> copies;  // never moved: buffers own memory
    std::size_t used = 0;
    for (auto& p : readable) {
      if (detail::can_read(here, detail::device_of(p))) continue;
      if (copies.size() <= used) copies.emplace_back();
      T* local = reinterpret_cast<T*>(copies[used++].reserve(count * sizeof(T)));
      copy(local, p, count);
      p = local;
    }
    return readable;
  }

  cudaStream_t stream_;
};

static_assert(DeviceSpace<Memory>);

}  // namespace colt::cuda
