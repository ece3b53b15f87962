#pragma once
// Collectives on CUDA device memory: include this in a .cu file (compiled by nvcc) to call
// colt::all_reduce, reduce_scatter, all_gather, broadcast, reduce, scatter, gather and the v
// forms on colt::device_span<T> buffers, with a stream as the last argument:
//
//   colt::all_reduce(comm, colt::device_span<const float>(d_in, n), colt::device_span<float>(d_out,
//   n),
//                    colt::sum{}, colt::algo::automatic, stream);
//
// See colt/collectives/device.hpp for the paths (native through views in-process, staged
// through pinned host memory elsewhere) and colt/cuda/memory.cuh for the CUDA memory space.

#include "colt/collectives/device.hpp"
#include "colt/cuda/memory.cuh"
