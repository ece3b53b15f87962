#pragma once
// A typed cudaMalloc'd buffer for the GPU tests, filled from and read back to host vectors.

#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

#include "colt/core/memory.hpp"
#include "colt/cuda/launch.cuh"

namespace colt::test {

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    cuda::check(cudaMalloc(&data_, (count ? count : 1) * sizeof(T)), "cudaMalloc (test buffer)");
  }
  explicit DeviceBuffer(const std::vector<T>& values) : DeviceBuffer(values.size()) {
    upload(values);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { (void)cudaFree(data_); }

  void upload(const std::vector<T>& values) {
    cuda::check(cudaMemcpy(data_, values.data(), values.size() * sizeof(T), cudaMemcpyHostToDevice),
                "upload");
  }
  std::vector<T> download() const {
    std::vector<T> values(count_);
    cuda::check(cudaMemcpy(values.data(), data_, count_ * sizeof(T), cudaMemcpyDeviceToHost),
                "download");
    return values;
  }
  T* data() { return data_; }
  const T* data() const { return data_; }
  device_span<T> span() { return {data_, count_}; }
  device_span<const T> const_span() const { return {data_, count_}; }

 private:
  T* data_ = nullptr;
  std::size_t count_;
};

}  // namespace colt::test
