// Every collective on CUDA device memory (colt/cuda/collectives.cuh) with 1..8 in-process ranks
// sharing one GPU: the views path (peers' device buffers read through views, the fused kernel
// over all p slices) bit for bit against the rank-order fold on the host, and the staged paths
// (no views; checksum option) through pinned host memory against the reference. The same cases
// run on the host through SimulatedDevice (tests/collectives/test_device_memory.cpp).

#include "colt/cuda/collectives.cuh"
#include "device_buffer.hpp"
#include "device_collective_cases.hpp"
#include "gpu_main.hpp"

using namespace colt;
using namespace colt::test;

namespace {

// Buffers in CUDA memory on GPU 0, copied in at construction and out by download().
struct CudaBuffers {
  static constexpr bool counts = false;  // SimulatedDevice's counters do not apply
  static void setup() { cuda::check(cudaSetDevice(0), "cudaSetDevice"); }
  template <class T>
  struct Buffer {
    std::unique_ptr<DeviceBuffer<T>> device;
    explicit Buffer(const std::vector<T>& values)
        : device(std::make_unique<DeviceBuffer<T>>(values)) {}
    device_span<T> span() { return device->span(); }
    device_span<const T> const_span() const { return device->const_span(); }
    std::vector<T> download() const { return device->download(); }
  };
};

}  // namespace

TEST_CASE(
    "gpu collectives: all_reduce, reduce_scatter and reduce, every path x ranks 1..8 x type x op") {
  for (Path path : all_paths)
    for (int p = 1; p <= 8; ++p)
      for_each(all_types{}, [&]<class T>(std::type_identity<T>) {
        for_each(all_ops{}, [&]<class Op>(std::type_identity<Op>) {
          for (std::size_t count : {0, 1, 3, 1009})
            reducing_case<CudaBuffers, T, Op>(
                path, p, count, base_seed() + static_cast<std::uint64_t>(p) * 31 + count);
        });
      });
}

TEST_CASE("gpu collectives: large counts (views: one fused pass; staged: pipelined chunks)") {
  for (Path path : all_paths) {
    reducing_case<CudaBuffers, float, sum>(path, 8, 1000003, base_seed() + 5);
    reducing_case<CudaBuffers, bfloat16, avg>(path, 8, 3000017, base_seed() + 6);
    reducing_case<CudaBuffers, std::int64_t, prod>(path, 5, 65537, base_seed() + 7);
  }
}

TEST_CASE(
    "gpu collectives: all_gather, broadcast, scatter, gather and their v forms, every path x ranks "
    "1..8") {
  for (Path path : all_paths)
    for (int p = 1; p <= 8; ++p)
      for (std::size_t n : {0, 1, 13, 1031}) moving_case<CudaBuffers, colt::half>(path, p, n);
}

TEST_CASE("gpu collectives: every started form equals its blocking form, every path") {
  for (Path path : all_paths)
    for (int p : {1, 2, 3, 8}) {
      started_case<CudaBuffers, float, sum>(path, p, 37, base_seed() + 41);
      started_case<CudaBuffers, bfloat16, avg>(path, p, 1 + 300000 / p, base_seed() + 43);
    }
}

TEST_CASE("gpu collectives: bad arguments raise colt::Error on every path") {
  for (Path path : all_paths) bad_arguments_case<CudaBuffers>(path);
}

int main(int argc, char** argv) { return run_gpu_tests("gpu/device_collectives", argc, argv); }
