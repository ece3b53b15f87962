#pragma once
// The data-parallel training loop, generic over the communicator (in-process threads or MPI).
//
// Each step takes the next `batch` examples of the epoch's seeded order (the global batch, the
// same on every rank), and each rank keeps its contiguous share of it (partition::range), so a
// short last batch of an epoch is split unevenly, down to empty shares. DataParallel, weighted
// by each rank's share, then averages the gradients into exactly the mean over the global
// batch: N ranks take the same steps one rank would on the whole batch.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "char_mlp.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "colt/core/partition.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "words.hpp"
#include "../common/progress.hpp"
#include "../common/schedule.hpp"

namespace char_mlp {

enum class Optimizer { adam, sgd };

struct TrainConfig {
  Shape shape;
  int steps = 3000;
  std::size_t batch = 256;  // global: the sum of every rank's share
  std::uint64_t seed = 1;
  Optimizer optimizer = Optimizer::adam;
  double learning_rate = 0.01;  // cosine-decayed to 5% of this over the run
  colt::Aggregation aggregation = colt::Aggregation::all_reduce;
  bool overlap = true;
  std::size_t bucket_cap_bytes = std::size_t{25} << 20;
  int report_every = 50;  // steps between progress reports (a 16-byte all-reduce each)
};

using samples::Progress;

struct TrainResult {
  std::vector<Progress> curve;
  double train_loss = 0;          // mean over the whole training set, after training
  double validation_loss = 0;     // mean over the validation set
  std::vector<float> parameters;  // flattened, in registration order
  double seconds = 0;
};

inline constexpr const char* tensor_names[Model::tensor_count] = {"embedding", "w1", "b1", "w2",
                                                                  "b2"};

// Mean loss over `examples`, each rank evaluating its range; the same value on every rank. Any
// model with loss(batch) (a tensor-parallel group's model evaluates its range together).
template <class Comm, class AnyModel>
double distributed_loss(Comm& comm, AnyModel& model, std::span<const Example> examples) {
  const colt::partition::Range mine =
      colt::partition::range(examples.size(), comm.size(), comm.rank());
  double sums[2] = {0, static_cast<double>(mine.size())};
  constexpr std::size_t chunk = 1024;
  for (std::size_t i = mine.begin; i < mine.end; i += chunk) {
    const std::size_t n = std::min(chunk, mine.end - i);
    sums[0] += model.loss(examples.subspan(i, n)) * static_cast<double>(n);
  }
  colt::all_reduce(comm, std::span<double>(sums), colt::sum{});
  return sums[1] > 0 ? sums[0] / sums[1] : 0.0;
}

// Progress reports: every report_every steps (and at the last), the mean loss and samples per
// second since the previous report, over all ranks (a 16-byte all-reduce), reported by rank 0.
class ReportWindow {
 public:
  template <class Comm, class Report>
  void add(Comm& comm, const TrainConfig& config, int step, int epoch, double loss,
           std::size_t samples, std::vector<Progress>& curve, Report& report) {
    sums_[0] += loss * static_cast<double>(samples);
    sums_[1] += static_cast<double>(samples);
    if ((step + 1) % config.report_every != 0 && step + 1 != config.steps) return;
    colt::all_reduce(comm, std::span<double>(sums_), colt::sum{});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    const Progress p{step + 1, config.steps, sums_[1] > 0 ? sums_[0] / sums_[1] : 0.0,
                     seconds > 0 ? sums_[1] / seconds : 0.0, epoch};
    curve.push_back(p);
    if (comm.rank() == 0) report(p);
    sums_[0] = sums_[1] = 0;
    started_ = std::chrono::steady_clock::now();
  }

 private:
  double sums_[2] = {0, 0};  // loss sum and samples since the last report, this rank
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

template <class Comm, class Report>
TrainResult train(Comm& comm, const Dataset& data, const TrainConfig& config, Model& model,
                  Report&& report) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  colt::DataParallelOptions options;
  options.aggregation = config.aggregation;
  options.weighted = true;
  options.overlap = config.overlap;
  options.bucket_cap_bytes = config.bucket_cap_bytes;
  colt::DataParallel dp(comm, options);
  for (std::size_t t = 0; t < Model::tensor_count; ++t)
    dp.add(model.param(t), model.grad(t), tensor_names[t]);
  dp.broadcast_parameters(0);  // rank 0's initial model on every rank
  samples::Adam adam(tensors_of(model));

  samples::BatchOrder batches(data.train.size(), config.seed);
  std::vector<Example> local;
  TrainResult result;
  ReportWindow window;

  for (int step = 0; step < config.steps; ++step) {
    const std::span<const std::size_t> global = batches.next(config.batch);
    const colt::partition::Range mine =
        colt::partition::range(global.size(), comm.size(), comm.rank());
    local.clear();
    for (std::size_t i = mine.begin; i < mine.end; ++i) local.push_back(data.train[global[i]]);

    dp.set_local_samples(static_cast<std::int64_t>(local.size()));
    const double loss = model.forward_backward(local, [&](std::size_t t) { dp.mark_ready(t); });
    dp.synchronize();  // every gradient is now the mean over the global batch

    const double lr = samples::cosine_learning_rate(config.learning_rate, step, config.steps);
    if (config.optimizer == Optimizer::adam)
      adam.step(lr);
    else
      adam.sgd_step(lr);

    window.add(comm, config, step, batches.epoch(), loss, local.size(), result.curve, report);
  }
  result.train_loss = distributed_loss(comm, model, data.train);
  result.validation_loss = distributed_loss(comm, model, data.validation);
  for (std::size_t t = 0; t < Model::tensor_count; ++t)
    result.parameters.insert(result.parameters.end(), model.param(t).begin(), model.param(t).end());
  result.seconds = std::chrono::duration<double>(clock::now() - started).count();
  return result;
}

}  // namespace char_mlp
