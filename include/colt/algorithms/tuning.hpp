#pragma once
// The constants of the cost model behind Algorithm::automatic (select.hpp), measured on the
// development machine by benchmarks/tune, which prints this table for a new machine.
//
// Model: a call of an algorithm on `bytes` (the call's largest buffer, as nccl-tests counts
// size) takes   alpha + beta x bytes + beta_memory x max(0, bytes - cache_bytes)   seconds:
//   alpha        the fixed cost: the algorithm's hand-offs (steps on the critical path x the
//                transport's latency per step)
//   beta         seconds per byte while the buffers stay in cache: the bytes the algorithm moves
//                and reduces per byte of the call, over the cache's bandwidth
//   beta_memory  the extra seconds per byte once they do not: the same traffic at memory speed
//   cache_bytes  where that starts: the candidate that fits the transport class best
// One entry per transport class (zero_copy: peers' memory is readable, as in-process), collective,
// algorithm and rank count; other rank counts use the nearest measured one.

#include <cstddef>

#include "colt/core/algorithm_name.hpp"
#include "colt/core/tag.hpp"

namespace colt::tuning {

struct Entry {
  CollectiveKind kind;
  Algorithm algorithm;
  bool zero_copy;
  int ranks;
  double alpha;        // seconds
  double beta;         // seconds per byte
  double beta_memory;  // seconds per byte beyond cache_bytes
  double cache_bytes;  // where beta_memory starts (fitted per transport class)
  bool operator==(const Entry&) const = default;
};

// The pipeline chunk of ring and tree.
inline constexpr std::size_t chunk_bytes = std::size_t{1} << 20;

// One measured entry each, as benchmarks/tune prints them (wrapped at 100 columns).
inline constexpr Entry table[] = {
    // In-process ranks (zero-copy): build/benchmarks/tune --ranks=2,4,8 --max-bytes=67108864
    // --batches=15
    {CollectiveKind::all_reduce, Algorithm::ring, true, 2, 2.607e-06, 1.948e-10, 0, 4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 2, 7.264e-07, 9.277e-11, 2.244e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 2, 1.141e-06, 1.162e-10, 2.099e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 2, 6.101e-07, 4.93e-11, 6.536e-11,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 2, 6.333e-07, 7.72e-11, 9.818e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 2, 6.149e-07, 7.212e-11, 1.506e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 2, 5.653e-07, 2.304e-10, 0, 4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 2, 4.226e-07, 7.201e-11, 4.822e-11, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 2, 6.351e-07, 2.684e-11, 7.659e-11,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 2, 8.867e-07, 5.514e-11, 1.453e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 2, 3.545e-07, 1.316e-10, 2.179e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 4, 0.000125, 2.719e-10, 3.831e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 4, 1.014e-05, 3.995e-10, 3.752e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 4, 1.872e-05, 3.948e-10, 3.031e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 4, 4.793e-05, 1.219e-10, 3.033e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 4, 9.942e-06, 2.309e-10, 7.701e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 4, 1.46e-05, 4.923e-10, 0, 4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 4, 8.856e-06, 1.605e-10, 3.038e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 4, 1.982e-05, 1.227e-10, 2.096e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 4, 2.633e-05, 1.134e-10, 2.57e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 4, 1.573e-05, 1.744e-10, 1.865e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 4, 5.968e-05, 2.792e-10, 2.123e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 8, 0.0001564, 6.32e-10, 9.374e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 8, 8.802e-05, 7.871e-10, 5.971e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 8, 7.162e-05, 9.043e-10, 3.48e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 8, 8.428e-05, 3.833e-10, 6.264e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 8, 3.429e-05, 5.209e-10, 1.321e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 8, 7.175e-05, 2.979e-10, 4.689e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 8, 2.613e-05, 3.742e-10, 3.577e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 8, 2.136e-05, 2.89e-10, 3.497e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 8, 2.132e-05, 3.231e-10, 5.584e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 8, 2.969e-05, 3.784e-10, 3.555e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 8, 6.537e-05, 8.803e-10, 1.235e-10, 4194304},
    // MPI processes (message transport; MPICH 4.0.2, shared memory):
    //   mpiexec.mpich -n 2 build/benchmarks/tune --mpi --max-bytes=67108864
    {CollectiveKind::all_reduce, Algorithm::ring, false, 2, 2.588e-06, 3.73e-10, 0, 2097152},
    {CollectiveKind::all_reduce, Algorithm::tree, false, 2, 2.103e-06, 6.264e-10, 0, 2097152},
    {CollectiveKind::all_reduce, Algorithm::direct, false, 2, 2.131e-06, 4.552e-10, 8.838e-11,
     2097152},
    {CollectiveKind::reduce_scatter, Algorithm::ring, false, 2, 9.649e-07, 1.006e-10, 1.064e-10,
     2097152},
    {CollectiveKind::reduce_scatter, Algorithm::direct, false, 2, 1.119e-06, 1.519e-10, 1.39e-10,
     2097152},
    {CollectiveKind::all_gather, Algorithm::ring, false, 2, 9.943e-07, 1.29e-10, 7.724e-11,
     2097152},
    {CollectiveKind::all_gather, Algorithm::direct, false, 2, 9.828e-07, 1.256e-10, 5.051e-11,
     2097152},
    {CollectiveKind::broadcast, Algorithm::tree, false, 2, 4.49e-07, 1.274e-10, 8.054e-11, 2097152},
    {CollectiveKind::broadcast, Algorithm::direct, false, 2, 4.223e-07, 1.166e-10, 1.151e-10,
     2097152},
    {CollectiveKind::reduce, Algorithm::tree, false, 2, 5.112e-07, 1.862e-10, 1.319e-10, 2097152},
    {CollectiveKind::reduce, Algorithm::direct, false, 2, 3.598e-07, 1.952e-10, 2.97e-10, 2097152},
};

}  // namespace colt::tuning
