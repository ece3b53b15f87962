#pragma once
// The data-parallel loop with sharded model state (--shard 1|2|3: ZeRO stages through
// colt::ShardedDataParallel), or plain DataParallel (--shard 0), on the layered MLP, so every
// stage trains the same network on the same batches and can be compared: loss, step time, and
// the bytes of parameters, gradients and optimizer state each rank held at its peak.
//
// The batches, weighting and learning-rate schedule are trainer.hpp's. Adam runs as one
// elementwise update (samples::Adam::apply) on whole tensors (stage 0) or on each rank's shard.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "colt/adapters/data_parallel.hpp"
#include "colt/adapters/sharded_data_parallel.hpp"
#include "colt/collectives/all_gather.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "colt/core/partition.hpp"
#include "layered_mlp.hpp"
#include "trainer.hpp"

namespace char_mlp {

struct ShardingConfig {
  int stage = 0;   // 0: DataParallel; 1-3: ShardedDataParallel's stage
  int layers = 1;  // tanh layers of the layered MLP
  bool prefetch = true;
  colt::ShardWire wire = colt::ShardWire::float32;
  // Units end at layer boundaries (end_unit); the cap only splits what is larger.
  std::size_t unit_cap_bytes = std::size_t{64} << 20;
  // Examples of each set the final losses are measured on (0: all): a large model's forward
  // over the whole dictionary takes longer than its training run.
  std::size_t eval_examples = 0;
};

// Peak bytes held by one rank, by kind (colt::Holding order), and all kinds at once.
struct HeldPeak {
  std::uint64_t parameters = 0, gradients = 0, optimizer_state = 0, buffers = 0, total = 0;
};

struct ShardedResult {
  TrainResult train;
  std::vector<HeldPeak> peaks;  // per rank, on every rank
  double median_step_seconds = 0;
};

// Mean loss over `examples`; every rank runs the same number of forward passes (an empty
// batch where its share is shorter), since each pass gathers units under stage 3.
template <class Comm, class Hooks>
double layered_loss(Comm& comm, LayeredModel& model, Hooks& hooks,
                    std::span<const Example> examples) {
  const colt::partition::Range mine =
      colt::partition::range(examples.size(), comm.size(), comm.rank());
  constexpr std::size_t chunk = 1024;
  const std::size_t longest = (examples.size() + static_cast<std::size_t>(comm.size()) - 1) /
                              static_cast<std::size_t>(comm.size());
  double sums[2] = {0, static_cast<double>(mine.size())};
  for (std::size_t done = 0; done < std::max<std::size_t>(longest, 1); done += chunk) {
    const std::size_t begin = std::min(mine.begin + done, mine.end);
    const std::size_t n = std::min(chunk, mine.end - begin);
    sums[0] += model.loss(examples.subspan(begin, n), hooks) * static_cast<double>(n);
  }
  colt::all_reduce(comm, std::span<double>(sums), colt::sum{});
  return sums[1] > 0 ? sums[0] / sums[1] : 0.0;
}

namespace detail {

template <class Adapter>
struct AdapterHooks {
  Adapter& adapter;
  void forward(std::size_t t) {
    if constexpr (requires { adapter.gather_for_forward(t); }) adapter.gather_for_forward(t);
  }
  void backward(std::size_t t) {
    if constexpr (requires { adapter.gather_for_backward(t); }) adapter.gather_for_backward(t);
  }
  void ready(std::size_t t) { adapter.mark_ready(t); }
};

template <class Comm>
std::vector<HeldPeak> peaks_of_all_ranks(Comm& comm, const HeldPeak& mine) {
  const auto i64 = [](std::uint64_t x) { return static_cast<std::int64_t>(x); };
  const std::int64_t fields[5] = {i64(mine.parameters), i64(mine.gradients),
                                  i64(mine.optimizer_state), i64(mine.buffers), i64(mine.total)};
  std::vector<std::int64_t> gathered(5 * static_cast<std::size_t>(comm.size()));
  colt::all_gather(comm, std::span<const std::int64_t>(fields), std::span<std::int64_t>(gathered));
  std::vector<HeldPeak> all;
  const auto u64 = [&](std::size_t i) { return static_cast<std::uint64_t>(gathered[i]); };
  for (std::size_t r = 0; r < gathered.size(); r += 5)
    all.push_back({u64(r), u64(r + 1), u64(r + 2), u64(r + 3), u64(r + 4)});
  return all;
}

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace detail

template <class Comm, class Report>
ShardedResult train_sharded(Comm& comm, const Dataset& data, const TrainConfig& config,
                            const ShardingConfig& sharding, Report&& report) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  LayeredModel model(config.shape, sharding.layers, config.seed);
  const std::size_t tensors = model.tensor_count();
  const bool adam = config.optimizer == Optimizer::adam;
  samples::Adam clock_of_adam;  // only its step count and coefficients, for the shards

  std::optional<colt::DataParallel<typename Comm::transport_type>> dp;
  std::optional<colt::ShardedDataParallel<typename Comm::transport_type>> sdp;
  std::optional<samples::Adam> whole;  // stage 0: Adam over whole tensors
  if (sharding.stage == 0) {
    model.own_storage();
    model.drop_initial();
    colt::DataParallelOptions options;
    options.aggregation = config.aggregation;
    options.weighted = true;
    options.overlap = config.overlap;
    options.bucket_cap_bytes = config.bucket_cap_bytes;
    dp.emplace(comm, options);
    std::vector<samples::Tensor> views;
    for (std::size_t t = 0; t < tensors; ++t) {
      dp->add(model.param(t), model.grad(t));
      views.push_back({model.param(t), model.grad(t)});
    }
    dp->broadcast_parameters(0);
    whole.emplace(std::move(views));
  } else {
    colt::ShardedDataParallelOptions options;
    options.stage = sharding.stage;
    options.weighted = true;
    options.overlap = config.overlap;
    options.prefetch = sharding.prefetch;
    options.wire = sharding.wire;
    options.bucket_cap_bytes = sharding.unit_cap_bytes;
    options.state_per_parameter = adam ? 2 : 0;
    sdp.emplace(comm, options);
    // One unit per layer: the embedding, each (weight, bias), the output layer.
    for (std::size_t t = 0; t < tensors; ++t) {
      sdp->add(model.initial(t),
               [&model, t](std::span<float> p, std::span<float> g) { model.bind(t, p, g); });
      if (t == 0 || t % 2 == 0) sdp->end_unit();
    }
    sdp->unit_count();  // plans, and takes rank 0's initial values
    model.drop_initial();
  }

  samples::BatchOrder batches(data.train.size(), config.seed);
  std::vector<Example> local;
  ShardedResult result;
  std::vector<double> step_seconds;
  ReportWindow window;
  for (int step = 0; step < config.steps; ++step) {
    const auto step_started = clock::now();
    const std::span<const std::size_t> global = batches.next(config.batch);
    const colt::partition::Range mine =
        colt::partition::range(global.size(), comm.size(), comm.rank());
    local.clear();
    for (std::size_t i = mine.begin; i < mine.end; ++i) local.push_back(data.train[global[i]]);
    const auto samples = static_cast<std::int64_t>(local.size());
    const double lr = samples::cosine_learning_rate(config.learning_rate, step, config.steps);
    double loss = 0;
    if (dp) {
      model.zero_owned_gradients();
      dp->set_local_samples(samples);
      detail::AdapterHooks<std::remove_reference_t<decltype(*dp)>> hooks{*dp};
      loss = model.forward_backward(local, hooks);
      dp->synchronize();
      if (adam)
        whole->step(lr);
      else
        whole->sgd_step(lr);
    } else {
      sdp->set_local_samples(samples);
      detail::AdapterHooks<std::remove_reference_t<decltype(*sdp)>> hooks{*sdp};
      loss = model.forward_backward(local, hooks);
      sdp->synchronize();
      const samples::Adam::Coefficients c = clock_of_adam.next(lr);
      sdp->step([&](const colt::Shard& s) {
        if (adam)
          samples::Adam::apply(c, s.parameters, s.gradients, s.state_slot(0).data(),
                               s.state_slot(1).data());
        else
          for (std::size_t i = 0; i < s.parameters.size(); ++i)
            s.parameters[i] -= static_cast<float>(lr) * s.gradients[i];
      });
    }
    step_seconds.push_back(std::chrono::duration<double>(clock::now() - step_started).count());

    window.add(comm, config, step, batches.epoch(), loss, local.size(), result.train.curve, report);
  }

  const auto first = [&](const std::vector<Example>& set) {
    const std::size_t n =
        sharding.eval_examples ? std::min(sharding.eval_examples, set.size()) : set.size();
    return std::span<const Example>(set.data(), n);
  };
  HeldPeak mine;
  if (dp) {
    mine.parameters = model.owned_parameter_bytes();
    mine.gradients = model.owned_gradient_bytes();
    mine.optimizer_state = whole->state_bytes();
    mine.buffers = dp->buffer_bytes();
    mine.total = mine.parameters + mine.gradients + mine.optimizer_state + mine.buffers;
    NoHooks none;
    result.train.train_loss = layered_loss(comm, model, none, first(data.train));
    result.train.validation_loss = layered_loss(comm, model, none, first(data.validation));
    for (std::size_t t = 0; t < tensors; ++t)
      result.train.parameters.insert(result.train.parameters.end(), model.param(t).begin(),
                                     model.param(t).end());
  } else {
    const colt::HeldMemory& held = sdp->memory();
    mine = {held.peak(colt::Holding::parameters), held.peak(colt::Holding::gradients),
            held.peak(colt::Holding::optimizer_state), held.peak(colt::Holding::buffers),
            held.peak_total()};
    detail::AdapterHooks<std::remove_reference_t<decltype(*sdp)>> hooks{*sdp};
    result.train.train_loss = layered_loss(comm, model, hooks, first(data.train));
    result.train.validation_loss = layered_loss(comm, model, hooks, first(data.validation));
    sdp->release_gathered();
    result.train.parameters = sdp->full_parameters();
  }
  result.peaks = detail::peaks_of_all_ranks(comm, mine);
  result.median_step_seconds = detail::median(step_seconds);
  result.train.seconds = std::chrono::duration<double>(clock::now() - started).count();
  return result;
}

}  // namespace char_mlp
