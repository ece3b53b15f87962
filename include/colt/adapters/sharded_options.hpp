#pragma once
// What a ShardedDataParallel (sharded_data_parallel.hpp) is made with, and what it hands the
// caller's code: the options, the binder through which the model gets views of the memory the
// adapter owns, the shard the caller's optimizer updates, and the whole model state of a
// checkpoint.

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "colt/core/algorithm_name.hpp"

namespace colt {

enum class ShardWire : unsigned char {
  float32,   // gradients and parameters travel as float: exact, as DataParallel
  bfloat16,  // half the bytes; float32 master shards, gradients prescaled by 1/N before the sum
};

struct ShardedDataParallelOptions {
  int stage = 3;                                        // 1, 2 or 3 (see the adapter)
  std::size_t bucket_cap_bytes = std::size_t{4} << 20;  // the unit size, in float32 bytes
  bool weighted = false;                                // as DataParallelOptions::weighted
  // Start a unit's reduce-scatter as soon as its gradients are marked, and (stage 3) the next
  // unit's all-gather while this one computes. Needs a transport whose communicators may be
  // driven from two threads (as DataParallel's overlap); otherwise collectives run in the
  // hooks, on the calling thread.
  bool overlap = true;
  bool prefetch = true;  // stage 3, with overlap
  ShardWire wire = ShardWire::float32;
  std::size_t state_per_parameter = 2;  // optimizer floats per parameter (Adam: 2, SGD: 0)
  Algorithm algorithm = Algorithm::automatic;
};

// What the caller's optimizer gets, per unit: its shard of the parameters (the float32 master
// values), of the averaged gradient, and of the optimizer state.
struct Shard {
  std::size_t unit = 0;
  std::size_t offset = 0;  // the shard's first element in the flat (registration) order
  std::span<float> parameters;
  std::span<const float> gradients;
  std::span<float> state;  // state_per_parameter slots of parameters.size() floats each
  std::span<float> state_slot(std::size_t j) const {
    return state.subspan(j * parameters.size(), parameters.size());
  }
};

// The whole model state in one place (gather_state/load_state): flat in registration order.
struct ModelState {
  std::vector<float> parameters;
  std::vector<float> optimizer_state;  // state_per_parameter slots of parameters.size() each
  std::size_t state_per_parameter = 0;
};

using TensorBinder = std::function<void(std::span<float> parameters, std::span<float> gradients)>;

}  // namespace colt
