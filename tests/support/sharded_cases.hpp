#pragma once
// ShardedDataParallel properties, written once over any communicator (in-process threads, MPI
// processes, UCX). Each returns a description of what went wrong on this rank (empty when
// nothing did) and, where it has one, a result the caller checks is the same on every rank.

#include <cmath>
#include <cstring>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "colt/adapters/sharded_data_parallel.hpp"
#include "colt/core/error.hpp"
#include "data_parallel_cases.hpp"
#include "sharded_trainer.hpp"

namespace colt::test::sharded {

// Tensor sizes: smaller than p (1, 3), empty (0), primes, and one larger than a small cap.
inline constexpr std::size_t sizes[] = {1, 7, 0, 1000, 3, 257, 2, 61};

struct AverageCase {
  ShardedDataParallelOptions options;
  bool unequal_weights = false;  // rank r weighs 3r + 1, the last rank nothing
  bool unused = false;           // rank r leaves tensor t unmarked when (t + r) % 3 == 0
  bool accumulate = false;       // two micro-batches, the first under no_sync()
  std::uint64_t seed = 5;
};

inline float initial_value(std::size_t tensor, std::size_t i) {
  return static_cast<float>(dp::contribution(77, 0, tensor, i));
}

// The gradient element rank r adds in micro-batch m.
inline float gradient_value(const AverageCase& c, int rank, int micro, std::size_t tensor,
                            std::size_t i) {
  return static_cast<float>(
      dp::contribution(c.seed + static_cast<std::uint64_t>(micro), rank, tensor, i));
}

// One step of SGD with lr 1 from seeded parameters, checked element by element against the
// same arithmetic done here in rank order: each rank's (micro-batches summed) gradient,
// weighted, summed, times 1/total. Exact with an ordered communicator and a float32 wire;
// otherwise within `tolerance` relative to the largest term (4). Also checks what forward
// sees: rank 0's initial values, on every rank (rounded, on a bfloat16 wire).
template <class Comm>
std::string average_step(Comm& comm, const AverageCase& c, double tolerance) {
  const int rank = comm.rank(), size = comm.size();
  std::ostringstream problems;
  const std::size_t n = std::size(sizes);
  std::vector<std::vector<float>> initial(n);
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t i = 0; i < sizes[t]; ++i)
      initial[t].push_back(rank == 0 ? initial_value(t, i) : -1.0f);  // rank 0's must win
  std::vector<std::span<float>> params(n), grads(n);
  ShardedDataParallel<typename Comm::transport_type> sdp(comm, c.options);
  for (std::size_t t = 0; t < n; ++t)
    sdp.add(initial[t], [&, t](std::span<float> p, std::span<float> g) {
      params[t] = p;
      grads[t] = g;
    });
  const auto weight_of = [&](int r) -> std::int64_t {
    if (!c.unequal_weights) return 1;
    return r == size - 1 && size > 1 ? 0 : 3 * r + 1;
  };
  const auto uses = [&](int r, std::size_t t) {
    return !c.unused || (t + static_cast<std::size_t>(r)) % 3 != 0;
  };
  sdp.set_local_samples(weight_of(rank));
  const int micro_batches = c.accumulate ? 2 : 1;
  for (int m = 0; m < micro_batches; ++m) {
    std::optional<typename decltype(sdp)::NoSync> guard;
    if (m + 1 < micro_batches) guard.emplace(sdp.no_sync());
    for (std::size_t t = 0; t < n; ++t) {
      sdp.gather_for_forward(t);
      for (std::size_t i = 0; i < sizes[t]; ++i)
        if (params[t].size() != sizes[t] ||
            std::abs(static_cast<double>(params[t][i]) - initial_value(t, i)) / 8.0 > tolerance) {
          problems << "forward sees tensor " << t << " element " << i << " wrong; ";
          break;
        }
    }
    for (std::size_t t = n; t-- > 0;) {
      sdp.gather_for_backward(t);
      if (grads[t].size() != sizes[t]) {
        problems << "no gradient bound for tensor " << t << "; ";
        continue;
      }
      for (std::size_t i = 0; i < sizes[t]; ++i) grads[t][i] += gradient_value(c, rank, m, t, i);
      if (uses(rank, t)) sdp.mark_ready(t);
    }
    sdp.synchronize();
  }
  // Its threads are in its API: overlapping, its reduce-scatters were started calls, so the
  // communicator they ran on has its progress thread now.
  if (sdp.overlapping() && size > 1 && !sdp.reduce_communicator().has_progress_thread())
    return "overlapping, but reduce_communicator() has no progress thread";
  sdp.step([](const Shard& s) {
    for (std::size_t i = 0; i < s.parameters.size(); ++i) s.parameters[i] -= s.gradients[i];
  });
  const std::vector<float> after = sdp.full_parameters();

  std::int64_t total = 0;
  for (int r = 0; r < size; ++r) total += weight_of(r);
  const double inverse = total > 0 ? 1.0 / static_cast<double>(total) : 0.0;
  std::size_t at = 0, wrong = 0;
  double worst = 0;
  for (std::size_t t = 0; t < n; ++t)
    for (std::size_t i = 0; i < sizes[t]; ++i, ++at) {
      float sum = 0;
      for (int r = 0; r < size; ++r) {
        float g = 0;
        for (int m = 0; m < micro_batches; ++m) g += gradient_value(c, r, m, t, i);
        const auto w = static_cast<double>(weight_of(r));
        const float term = !uses(r, t) || w == 0 ? 0.0f : static_cast<float>(g * w);
        sum = r == 0 ? term : sum + term;
      }
      const auto average = static_cast<float>(static_cast<double>(sum) * inverse);
      const float expected = initial_value(t, i) - average;
      const double error = std::abs(static_cast<double>(after[at]) - expected) / 8.0;
      worst = std::max(worst, error);
      if (tolerance == 0 ? after[at] != expected : error > tolerance) ++wrong;
    }
  if (wrong)
    problems << wrong << " of " << at << " parameters wrong after the step (worst " << worst
             << ", allowed " << tolerance << ")";
  return problems.str();
}

// The layered sample model, `steps` steps of Adam, by stage (0: DataParallel).
inline char_mlp::TrainConfig layered_training(std::uint64_t seed = 1) {
  char_mlp::TrainConfig config;
  config.shape = {3, 8, 16};
  config.steps = 50;
  config.batch = 53;  // prime: uneven shares, short last batches
  config.learning_rate = 0.01;
  config.bucket_cap_bytes = 1024;
  config.report_every = 50;
  config.seed = seed;
  return config;
}

template <class Comm>
char_mlp::ShardedResult train_layered(Comm& comm, int stage, const char_mlp::TrainConfig& config,
                                      colt::ShardWire wire = colt::ShardWire::float32,
                                      bool prefetch = true) {
  char_mlp::ShardingConfig sharding;
  sharding.stage = stage;
  sharding.layers = 3;
  sharding.wire = wire;
  sharding.prefetch = prefetch;
  return char_mlp::train_sharded(comm, dp::small_dataset(), config, sharding,
                                 [](const char_mlp::Progress&) {});
}

// Stage `stage` against DataParallel on the same data and seed: the parameters after training
// are bitwise equal on ordered communicators, else within `tolerance` (relative, per element).
template <class Comm>
std::string against_plain(Comm& comm, int stage, double tolerance,
                          colt::ShardWire wire = colt::ShardWire::float32, bool prefetch = true,
                          std::uint64_t seed = 1) {
  const auto config = layered_training(seed);
  const auto plain = train_layered(comm, 0, config);
  const auto sharded = train_layered(comm, stage, config, wire, prefetch);
  const double difference =
      dp::parameter_difference(sharded.train.parameters, plain.train.parameters);
  const bool ok =
      tolerance == 0 ? sharded.train.parameters == plain.train.parameters : difference <= tolerance;
  if (ok) return {};
  std::ostringstream out;
  out << "stage " << stage << " differs from DataParallel by " << difference << " (allowed "
      << tolerance << ")";
  return out.str();
}

// Trains `config` at `stage` for its steps and writes the shards under `prefix`; returns the
// whole state as gathered at rank 0 (empty elsewhere).
template <class Comm>
ModelState train_and_save(Comm& comm, int stage, const std::string& prefix) {
  ShardedDataParallelOptions options;
  options.stage = stage;
  options.bucket_cap_bytes = 64;  // units of about 16 elements: many segments per file
  ShardedDataParallel<typename Comm::transport_type> sdp(comm, options);
  std::vector<std::vector<float>> initial(std::size(sizes));
  for (std::size_t t = 0; t < std::size(sizes); ++t)
    for (std::size_t i = 0; i < sizes[t]; ++i) initial[t].push_back(initial_value(t, i));
  for (std::size_t t = 0; t < std::size(sizes); ++t)
    sdp.add(initial[t], [](std::span<float>, std::span<float>) {});
  // Distinct values everywhere: parameter and state element k of the flat order become
  // functions of k alone, whatever p wrote them.
  sdp.step([](const Shard& s) {
    for (std::size_t i = 0; i < s.parameters.size(); ++i) {
      const auto k = static_cast<float>(s.offset + i);
      s.parameters[i] = 0.5f * k + 1.0f;
      s.state_slot(0)[i] = -k;
      s.state_slot(1)[i] = k * k;
    }
  });
  sdp.save_shard(prefix);
  return sdp.gather_state(0);
}

// Loads the shards `saved_ranks` ranks wrote, at `stage`, and compares the gathered state with
// `expected` (meaningful at rank 0). Also loads `expected` through load_state and checks again.
template <class Comm>
std::string load_and_compare(Comm& comm, int stage, const std::string& prefix, int saved_ranks,
                             const ModelState& expected) {
  ShardedDataParallelOptions options;
  options.stage = stage;
  options.bucket_cap_bytes = 100;  // other units than the writer's
  ShardedDataParallel<typename Comm::transport_type> sdp(comm, options);
  std::vector<std::vector<float>> zeros(std::size(sizes));
  std::vector<std::span<float>> params(std::size(sizes));
  for (std::size_t t = 0; t < std::size(sizes); ++t) {
    zeros[t].assign(sizes[t], 0.0f);
    sdp.add(zeros[t], [&, t](std::span<float> p, std::span<float>) { params[t] = p; });
  }
  std::ostringstream problems;
  sdp.load_shards(prefix, saved_ranks);
  const ModelState loaded = sdp.gather_state(0);
  if (comm.rank() == 0 && (loaded.parameters != expected.parameters ||
                           loaded.optimizer_state != expected.optimizer_state))
    problems << "state after load_shards differs from the saved one; ";
  // What forward sees after loading.
  std::size_t at = 0;
  for (std::size_t t = 0; t < std::size(sizes); ++t) {
    sdp.gather_for_forward(t);
    for (std::size_t i = 0; i < sizes[t]; ++i, ++at)
      if (params[t][i] != 0.5f * static_cast<float>(at) + 1.0f) {
        problems << "forward after load sees tensor " << t << " wrong; ";
        break;
      }
  }
  sdp.release_gathered();
  sdp.load_state(expected, 0);
  const ModelState reloaded = sdp.gather_state(0);
  if (comm.rank() == 0 && (reloaded.parameters != expected.parameters ||
                           reloaded.optimizer_state != expected.optimizer_state))
    problems << "state after load_state differs; ";
  return problems.str();
}

// Expects `fn` to throw a colt::Error on this rank; returns a problem otherwise.
template <class Fn>
std::string expect_error(const char* label, Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
    return {};
  }
  return std::string(label) + ": no colt::Error; ";
}

}  // namespace colt::test::sharded
