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
    // In-process ranks (zero-copy), measured 2026-12-02 on the CI machine class (2 cores), slots
    // included: build/benchmarks/tune --ranks=2,4,8 --max-bytes=67108864 --batches=31
    {CollectiveKind::all_reduce, Algorithm::ring, true, 2, 2.946e-06, 1.126e-10, 9.382e-11,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 2, 1.445e-06, 1.52e-10, 1.691e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 2, 3.085e-06, 9.695e-11, 1.696e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::slots, true, 2, 4.095e-07, 3.424e-10, 2.11e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 2, 1.245e-06, 1.65e-11, 7.04e-11,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 2, 1.601e-06, 2.652e-11, 9.516e-11,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::slots, true, 2, 3.858e-07, 2.444e-10, 1.493e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 2, 1.549e-06, 1.065e-10, 4.779e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 2, 1.238e-06, 1.066e-10, 5.911e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::slots, true, 2, 3.302e-07, 1.684e-10, 1.195e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 2, 6.947e-07, 6.678e-11, 2.194e-11, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 2, 6.561e-07, 6.634e-11, 2.282e-11,
     4194304},
    {CollectiveKind::broadcast, Algorithm::slots, true, 2, 2.269e-07, 1.502e-10, 3.436e-11,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 2, 1.252e-06, 3.064e-11, 1.641e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 2, 1.337e-06, 5.674e-11, 1.78e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::slots, true, 2, 2.703e-07, 1.81e-10, 1.983e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 4, 0.0001392, 1.806e-10, 4.087e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 4, 5.126e-05, 3.258e-10, 2.816e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 4, 7.95e-05, 2.398e-10, 3.293e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::slots, true, 4, 4.163e-06, 1.589e-09, 5.585e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 4, 6.589e-05, 9.229e-11, 1.902e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 4, 4.592e-05, 7.912e-11, 1.536e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::slots, true, 4, 2.797e-06, 1.05e-09, 3.642e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 4, 6.176e-05, 1.353e-10, 1.947e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 4, 2.858e-05, 1.519e-10, 1.688e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::slots, true, 4, 2.393e-06, 2.982e-10, 2.283e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 4, 3.438e-05, 1.273e-10, 1.124e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 4, 2.933e-05, 1.101e-10, 1.547e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::slots, true, 4, 1.221e-06, 4.236e-10, 1.795e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 4, 5.868e-06, 2.427e-10, 5.177e-11, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 4, 6.676e-05, 2.199e-10, 2.236e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::slots, true, 4, 1.354e-06, 8.008e-10, 3.08e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 8, 6.446e-05, 6.189e-10, 6.929e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 8, 5.369e-05, 7.459e-10, 6.524e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 8, 5.763e-05, 5.367e-10, 6.131e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::slots, true, 8, 7.132e-06, 5.034e-09, 9.361e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 8, 3.5e-05, 3.685e-10, 3.704e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 8, 3.124e-05, 2.577e-10, 2.95e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::slots, true, 8, 7.11e-06, 2.753e-09, 1.868e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 8, 2.925e-05, 2.785e-10, 3.578e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 8, 2.69e-05, 2.622e-10, 2.543e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::slots, true, 8, 6.733e-06, 3.622e-10, 5.56e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 8, 1.72e-05, 3.199e-10, 2.06e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 8, 2.172e-05, 2.703e-10, 2.815e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::slots, true, 8, 2.064e-06, 6.604e-10, 5.321e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 8, 4.51e-05, 2.93e-10, 5.014e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 8, 6.615e-05, 4.887e-10, 5.961e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::slots, true, 8, 3.667e-06, 1.518e-09, 6.315e-10, 4194304},
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
