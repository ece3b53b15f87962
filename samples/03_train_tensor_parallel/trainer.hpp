#pragma once
// Tensor-parallel training, optionally combined with data parallelism on a 2-D grid of ranks:
//
//   world = D x T ranks; rank r sits in tensor-parallel group r / T and data-parallel group r % T
//
// The T ranks of a tensor-parallel group hold one model between them (its hidden layer split
// T ways) and see the same examples; the D groups each take their share of every global batch,
// and colt::DataParallel averages each shard's gradient with the same shard in the other groups.
// Both groups come from Communicator::split, so their messages never meet.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "../02_data_parallel_trainer/trainer.hpp"
#include "../common/adam.hpp"
#include "../common/progress.hpp"
#include "../common/schedule.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "tensor_parallel_mlp.hpp"

namespace tensor_parallel {

struct Grid {
  int data_parallel = 1;
  int tensor_parallel = 1;
};

inline Grid grid_of(int world, int tensor_parallel) {
  if (tensor_parallel < 1 || world % tensor_parallel != 0)
    throw std::invalid_argument("--tensor-parallel " + std::to_string(tensor_parallel) +
                                " does not divide " + std::to_string(world) + " ranks");
  return {world / tensor_parallel, tensor_parallel};
}

struct TrainResult {
  char_mlp::TrainResult base;              // curve, losses, whole parameters, seconds
  std::size_t payload_bytes_per_step = 0;  // tensor-parallel all-reduce payload, one rank, per step
  std::size_t gradient_bytes_per_step = 0;  // data-parallel all-reduce payload, one rank, per step
};

// `after(model, tp)` runs after training, collectively, on the trained model (sampling, say).
// Losses are evaluated by the data-parallel groups, each over its range, its tensor-parallel
// ranks together.
template <class Comm, class Report, class After>
TrainResult train(Comm& world, int tensor_parallel, const char_mlp::Dataset& data,
                  const char_mlp::TrainConfig& config, Report&& report, After&& after) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  const Grid grid = grid_of(world.size(), tensor_parallel);
  auto tp = world.split(world.rank() / grid.tensor_parallel, world.rank());
  auto dp = world.split(world.rank() % grid.tensor_parallel, world.rank());

  Model<typename Comm::transport_type> model(tp, config.shape, config.seed);
  std::vector<samples::Tensor> tensors = model.tensors();
  std::optional<colt::DataParallel<typename Comm::transport_type>> averaging;
  std::size_t gradient_elements = 0;
  if (grid.data_parallel > 1) {
    colt::DataParallelOptions options;
    options.weighted = true;
    options.overlap = false;  // gradients are final only when backward returns
    averaging.emplace(dp, options);
    for (const samples::Tensor& t : tensors) averaging->add(t.value, t.grad);
    for (const samples::Tensor& t : tensors) gradient_elements += t.grad.size();
  }
  samples::Adam adam(tensors);
  samples::BatchOrder batches(data.train.size(), config.seed);
  std::vector<char_mlp::Example> local;
  TrainResult result;
  double window[2] = {0, 0};
  auto window_started = clock::now();
  std::size_t payload = 0;

  for (int step = 0; step < config.steps; ++step) {
    const std::span<const std::size_t> global = batches.next(config.batch);
    const colt::partition::Range mine = colt::partition::range(global.size(), dp.size(), dp.rank());
    local.clear();
    for (std::size_t i = mine.begin; i < mine.end; ++i) local.push_back(data.train[global[i]]);
    const double loss = model.forward_backward(local);
    payload += model.all_reduce_payload_bytes(local.size());
    if (averaging) {
      averaging->set_local_samples(static_cast<std::int64_t>(local.size()));
      averaging->average_gradients();
    }
    const double lr = samples::cosine_learning_rate(config.learning_rate, step, config.steps);
    if (config.optimizer == char_mlp::Optimizer::adam)
      adam.step(lr);
    else
      adam.sgd_step(lr);

    window[0] += loss * static_cast<double>(local.size());
    window[1] += static_cast<double>(local.size());
    if ((step + 1) % config.report_every == 0 || step + 1 == config.steps) {
      colt::all_reduce(dp, std::span<double>(window),
                       colt::sum{});  // one rank per group would do; all agree
      const double seconds = std::chrono::duration<double>(clock::now() - window_started).count();
      samples::Progress p{step + 1, config.steps, window[1] > 0 ? window[0] / window[1] : 0.0,
                          seconds > 0 ? window[1] / seconds : 0.0, batches.epoch()};
      result.base.curve.push_back(p);
      if (world.rank() == 0) report(p);
      window[0] = window[1] = 0;
      window_started = clock::now();
    }
  }
  result.base.train_loss = char_mlp::distributed_loss(dp, model, data.train);
  result.base.validation_loss = char_mlp::distributed_loss(dp, model, data.validation);
  result.base.parameters = model.gather_parameters();
  result.payload_bytes_per_step = payload / static_cast<std::size_t>(config.steps);
  result.gradient_bytes_per_step = gradient_elements * sizeof(float);
  after(model, tp);
  result.base.seconds = std::chrono::duration<double>(clock::now() - started).count();
  return result;
}

}  // namespace tensor_parallel
