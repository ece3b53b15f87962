#pragma once
// Element-wise reduction kernels on device memory, launched on the caller's stream:
//   colt::cuda::reduce(op, out, a, b, count, stream)           out = a op b
//   colt::cuda::reduce_many(op, out, inputs, count, stream)    out = in0 op in1 op ... op in(k-1)
// one pass over memory for up to max_inputs (16) inputs, any alignment, any count. Types: every
// colt element type, and CUDA's __half / __nv_bfloat16 (the same bits as colt::half/bfloat16).
// avg divides once, at the end, in the compute type (float for the 16-bit types); by default by
// the number of inputs, or by `ranks` (0: leave the sum unfinished) for collectives that reduce
// in several steps. `out` may be any of the inputs. Launch errors throw colt::Error; faults
// while the kernel runs surface at the caller's next synchronisation of `stream`.

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>

#include "colt/core/error.hpp"
#include "colt/core/ops.hpp"
#include "colt/cuda/launch.cuh"
#include "colt/cuda/reduce_body.hpp"

namespace colt::cuda {

namespace kernel {
// __grid_constant__: the body indexes args.in with a run-time input number, which would
// otherwise make every thread copy the whole parameter block to its local memory first.
template <class Op, class T>
__global__ void __launch_bounds__(256) reduce(Op op, const __grid_constant__ ReduceArgs<T> args) {
  const std::size_t threads = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  const std::size_t thread = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  reduce_range(op, args, thread, threads);
}
}  // namespace kernel

inline constexpr int reduce_block_threads = 256;

// Enough resident blocks to keep every SM's memory pipeline busy, no more (grid-stride loop).
inline int reduce_grid_limit() {
  static const int limit = [] {
    int device = 0, sms = 0, per_sm = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device),
          "querying SM count");
    check(cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxThreadsPerMultiProcessor, device),
          "querying threads per SM");
    return std::max(1, sms * (per_sm / reduce_block_threads));
  }();
  return limit;
}

template <class Op, class E>
  requires ReductionFor<Op, colt_element_t<E>>
void reduce_many(Op op, E* out, std::span<const E* const> inputs, std::size_t count,
                 cudaStream_t stream, int ranks) {
  using T = colt_element_t<E>;
  if (inputs.empty())
    throw Error(ErrorKind::invalid_argument, Operation::cuda_reduce, Error::no_rank,
                "no inputs to reduce");
  if (inputs.size() > static_cast<std::size_t>(max_inputs))
    throw Error(ErrorKind::invalid_argument, Operation::cuda_reduce, Error::no_rank,
                std::to_string(inputs.size()) + " inputs, at most " + std::to_string(max_inputs) +
                    " reduce in one pass");
  if (count == 0) return;
  ReduceArgs<T> args;
  args.out = reinterpret_cast<T*>(out);
  if (!out)
    throw Error(ErrorKind::invalid_argument, Operation::cuda_reduce, Error::no_rank,
                "null output pointer");
  for (std::size_t j = 0; j < inputs.size(); ++j) {
    if (!inputs[j])
      throw Error(ErrorKind::invalid_argument, Operation::cuda_reduce, Error::no_rank,
                  "input " + std::to_string(j) + " is a null pointer");
    args.in[j] = reinterpret_cast<const T*>(inputs[j]);
  }
  args.inputs = static_cast<int>(inputs.size());
  args.count = count;
  args.ranks = ranks;
  plan_packs(args);
  const std::size_t work = args.packs > 0 ? (args.packs + packs_per_trip - 1) / packs_per_trip +
                                                args.head + Pack<T>::size
                                          : count;
  const std::size_t blocks_needed = (work + reduce_block_threads - 1) / reduce_block_threads;
  const int blocks = static_cast<int>(
      std::min<std::size_t>(blocks_needed, static_cast<std::size_t>(reduce_grid_limit())));
  kernel::reduce<Op, T><<<blocks, reduce_block_threads, 0, stream>>>(op, args);
  check_launch("colt::cuda::kernel::reduce");
}

// The average (avg) divides by the number of inputs.
template <class Op, class E>
  requires ReductionFor<Op, colt_element_t<E>>
void reduce_many(Op op, E* out, std::span<const E* const> inputs, std::size_t count,
                 cudaStream_t stream = nullptr) {
  reduce_many(op, out, inputs, count, stream, static_cast<int>(inputs.size()));
}

// out = a op b (avg: (a + b) / 2).
template <class Op, class E>
  requires ReductionFor<Op, colt_element_t<E>>
void reduce(Op op, E* out, const E* a, const E* b, std::size_t count,
            cudaStream_t stream = nullptr) {
  const E* inputs[] = {a, b};
  reduce_many(op, out, std::span<const E* const>(inputs), count, stream, 2);
}

}  // namespace colt::cuda
