#pragma once
// Collectives on CUDA device memory: include this in a .cu file (compiled by nvcc) to call
// colt::all_reduce, reduce_scatter, all_gather, broadcast, reduce, scatter, gather, the v forms
// and their started forms (iall_reduce, ...) on colt::device_span<T> buffers, with a stream (a
// cudaStream_t) after the operands, and an algorithm if wanted:
//
//   colt::all_reduce(comm, colt::device_span<const float>(d_in, n),
//                    colt::device_span<float>(d_out, n), colt::sum{}, stream);
//
// See colt/collectives/device.hpp for the paths (native through views in-process, staged
// through pinned host memory elsewhere) and colt/cuda/memory.cuh for the CUDA memory space.

#include "colt/collectives/device.hpp"
#include "colt/cuda/memory.cuh"
