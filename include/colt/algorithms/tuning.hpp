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
    // In-process ranks (zero-copy), measured 2026-12-02 on the CI machine class (2 cores):
    // build/benchmarks/tune --ranks=2,4,8 --max-bytes=67108864 --batches=31
    {CollectiveKind::all_reduce, Algorithm::ring, true, 2, 2.979e-06, 1.079e-10, 9.326e-11,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 2, 1.555e-06, 1.55e-10, 1.636e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 2, 2.734e-06, 9.305e-11, 1.617e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 2, 1.293e-06, 1.501e-11, 7.399e-11,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 2, 1.533e-06, 2.618e-11, 8.976e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 2, 1.45e-06, 1.046e-10, 5.444e-11, 4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 2, 1.246e-06, 1.113e-10, 5.726e-11,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 2, 6.123e-07, 6.721e-11, 2.337e-11, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 2, 6.114e-07, 7.306e-11, 1.909e-11,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 2, 9.223e-07, 3.407e-11, 1.77e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 2, 8.901e-07, 5.015e-11, 2.076e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 4, 0.0001255, 1.947e-10, 4.077e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 4, 1.803e-05, 3.958e-10, 1.804e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 4, 7.375e-05, 2.181e-10, 3.811e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 4, 7.501e-05, 9.698e-11, 2.061e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 4, 4.154e-05, 7.948e-11, 1.614e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 4, 7.004e-05, 1.119e-10, 2.342e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 4, 2.424e-05, 1.561e-10, 1.856e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 4, 2.75e-05, 1.123e-10, 1.308e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 4, 3.094e-05, 1.02e-10, 1.608e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 4, 4.303e-05, 1.571e-10, 1.65e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 4, 6.804e-05, 1.828e-10, 2.486e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 8, 6.019e-05, 5.518e-10, 7.913e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 8, 4.802e-05, 6.189e-10, 7.133e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 8, 6.049e-05, 5.415e-10, 5.893e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 8, 3.771e-05, 2.953e-10, 4.156e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 8, 2.921e-05, 2.536e-10, 2.696e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 8, 3.093e-05, 2.676e-10, 2.908e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 8, 2.486e-05, 2.578e-10, 2.659e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 8, 1.337e-05, 2.789e-10, 1.811e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 8, 2.011e-05, 2.485e-10, 3.295e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 8, 3.638e-05, 4.306e-10, 2.936e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 8, 5.986e-05, 4.749e-10, 5.82e-10, 4194304},
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
