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
// One entry per transport class (views: peers' memory is readable, as in-process), collective,
// algorithm and rank count; other rank counts use the nearest measured one.

#include <cstddef>

#include "colt/core/algorithm_name.hpp"
#include "colt/core/tag.hpp"

namespace colt::tuning {

struct Entry {
  CollectiveKind kind;
  Algorithm algorithm;
  bool views;
  int ranks;
  double alpha;        // seconds
  double beta;         // seconds per byte
  double beta_memory;  // seconds per byte beyond cache_bytes
  double cache_bytes;  // where beta_memory starts (fitted per transport class)
  bool operator==(const Entry&) const = default;
};

// A link between nodes, the second level of the two-level model (algorithms/two_level.hpp):
// alpha seconds per message on a node's link, beta seconds per byte through it, shared by the
// node's ranks.
struct Link {
  double alpha;  // seconds
  double beta;   // seconds per byte
  bool operator==(const Link&) const = default;
};

// The link assumed where the tuning file names none: 10 Gbit/s Ethernet carrying TCP (20 us
// from a send to its receive, 1.25 GB/s). A tuning file's `network ALPHA BETA` line replaces it
// with the cluster's own figures (docs/scale-out.md).
inline constexpr Link network{2e-5, 8e-10};

// The pipeline chunk of ring and tree.
inline constexpr std::size_t chunk_bytes = std::size_t{1} << 20;

// One measured entry each, as benchmarks/tune prints them (wrapped at 100 columns).
inline constexpr Entry table[] = {
    // In-process ranks (zero-copy), measured 2026-12-02 on the CI machine class (2 cores), slots
    // included: build/benchmarks/tune --ranks=2,4,8 --max-bytes=268435456 --batches=21
    {CollectiveKind::all_reduce, Algorithm::ring, true, 2, 3.277e-06, 1.053e-10, 1.023e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 2, 1.954e-06, 1.437e-10, 1.8e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 2, 2.967e-06, 9.897e-11, 1.594e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::slots, true, 2, 3.853e-07, 3.452e-10, 1.945e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 2, 1.36e-06, 1.736e-11, 7.026e-11,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 2, 1.196e-06, 2.666e-11, 8.099e-11,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::slots, true, 2, 3.327e-07, 2.238e-10, 1.274e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 2, 1.433e-06, 9.625e-11, 5.093e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 2, 1.099e-06, 1.024e-10, 5.361e-11,
     4194304},
    {CollectiveKind::all_gather, Algorithm::slots, true, 2, 3.317e-07, 1.721e-10, 1.076e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 2, 6.759e-07, 6.548e-11, 3.059e-11, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 2, 6.693e-07, 6.506e-11, 2.411e-11,
     4194304},
    {CollectiveKind::broadcast, Algorithm::slots, true, 2, 1.956e-07, 1.42e-10, 4.116e-11, 4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 2, 9.787e-07, 3.516e-11, 1.577e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 2, 1.2e-06, 5.237e-11, 1.957e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::slots, true, 2, 2.282e-07, 1.896e-10, 1.546e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 4, 0.0001386, 1.984e-10, 4.022e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 4, 1.18e-05, 4.783e-10, 1.159e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 4, 8.182e-05, 2.272e-10, 3.107e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::slots, true, 4, 2.484e-06, 1.625e-09, 4.368e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 4, 5.83e-05, 1.089e-10, 1.59e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 4, 4.412e-05, 8.278e-11, 1.502e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::slots, true, 4, 2.237e-06, 1.142e-09, 1.943e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 4, 7.138e-05, 1.218e-10, 2.455e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 4, 2.959e-05, 1.581e-10, 1.588e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::slots, true, 4, 2.434e-06, 3.063e-10, 2.154e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 4, 3.253e-05, 1.328e-10, 1.253e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 4, 2.924e-05, 1.173e-10, 1.518e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::slots, true, 4, 1.495e-06, 4.555e-10, 1.377e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 4, 5.175e-05, 1.972e-10, 1.173e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 4, 6.615e-05, 2.104e-10, 2.223e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::slots, true, 4, 1.572e-06, 7.921e-10, 2.244e-10, 4194304},
    {CollectiveKind::all_reduce, Algorithm::ring, true, 8, 0.0001069, 5.613e-10, 8.089e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::tree, true, 8, 5.262e-05, 5.503e-10, 8.733e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::direct, true, 8, 5.464e-05, 5.381e-10, 5.877e-10,
     4194304},
    {CollectiveKind::all_reduce, Algorithm::slots, true, 8, 9.057e-06, 5.495e-09, 3.331e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::ring, true, 8, 3.118e-05, 3.727e-10, 2.743e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::direct, true, 8, 2.821e-05, 2.641e-10, 2.327e-10,
     4194304},
    {CollectiveKind::reduce_scatter, Algorithm::slots, true, 8, 8.418e-06, 2.514e-09, 5.221e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::ring, true, 8, 2.78e-05, 2.583e-10, 2.971e-10, 4194304},
    {CollectiveKind::all_gather, Algorithm::direct, true, 8, 2.392e-05, 2.875e-10, 2.555e-10,
     4194304},
    {CollectiveKind::all_gather, Algorithm::slots, true, 8, 7.448e-06, 4.668e-10, 4.01e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::tree, true, 8, 1.796e-05, 2.802e-10, 2.103e-10, 4194304},
    {CollectiveKind::broadcast, Algorithm::direct, true, 8, 1.802e-05, 2.003e-10, 2.78e-10,
     4194304},
    {CollectiveKind::broadcast, Algorithm::slots, true, 8, 2.229e-06, 8.754e-10, 2.137e-10,
     4194304},
    {CollectiveKind::reduce, Algorithm::tree, true, 8, 2.933e-05, 4.885e-10, 2.026e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::direct, true, 8, 7.307e-05, 4.799e-10, 5.334e-10, 4194304},
    {CollectiveKind::reduce, Algorithm::slots, true, 8, 3.725e-06, 1.576e-09, 4.94e-10, 4194304},
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
