#pragma once
// main() of the GPU tests: without a CUDA device they print why and exit 77, which meson reports
// as SKIP (the CI machine has nvcc but no GPU); with one, doctest runs the cases.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "colt/cuda/launch.cuh"

inline int run_gpu_tests(const char* name, int argc, char** argv) {
  if (colt::cuda::device_count() == 0) {
    std::printf(
        "%s: SKIPPED: no CUDA device on this machine (cudaGetDeviceCount found none or no "
        "driver)\n",
        name);
    return 77;
  }
  cudaDeviceProp prop{};
  colt::cuda::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  std::printf("%s: running on %s (sm_%d%d)\n", name, prop.name, prop.major, prop.minor);
  doctest::Context context(argc, argv);
  return context.run();
}
