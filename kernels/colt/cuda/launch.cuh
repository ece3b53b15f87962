#pragma once
// CUDA status codes at the boundary: every runtime call colt makes goes through check(), which
// turns a failure into colt::Error naming what colt was doing, the CUDA error's name and text.
// Kernel launches are checked twice: at launch (cudaGetLastError: bad configuration) and when
// the stream is synchronised (faults while the kernel ran).

#include <cuda_runtime.h>

#include <string>
#include <string_view>

#include "colt/core/error.hpp"

namespace colt::cuda {

// The rank is unknown this deep (a kernel serves any caller), hence Error::no_rank; collectives
// rename the error with their own name and rank on the way out.
[[noreturn]] inline void fail(cudaError_t status, std::string_view what) {
  throw Error(ErrorKind::transport, Operation::cuda, Error::no_rank,
              std::string(what) + ": " + cudaGetErrorName(status) + " (" +
                  cudaGetErrorString(status) + ")");
}

inline void check(cudaError_t status, std::string_view what) {
  if (status != cudaSuccess) fail(status, what);
}

// Checks a launch that just happened on this thread.
inline void check_launch(std::string_view kernel) {
  check(cudaGetLastError(), std::string("launching ") + std::string(kernel));
}

// How many GPUs this process sees; 0 when there is none or no driver (never throws, so tests can
// skip with a message instead of failing).
inline int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the sticky status
    return 0;
  }
  return count;
}

}  // namespace colt::cuda
