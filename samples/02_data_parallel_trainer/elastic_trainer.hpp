#pragma once
// The data-parallel training loop of trainer.hpp made to survive a lost rank
// (colt::ElasticTraining): the model, Adam's moments and step count are committed every
// `commit_every` steps; when ranks die, the survivors shrink, roll back to the commit, split the
// same global batches over fewer ranks (weighted averaging keeps each step the mean over the
// global batch) and redo the steps since.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "char_mlp.hpp"
#include "colt/adapters/data_parallel.hpp"
#include "colt/adapters/elastic.hpp"
#include "colt/core/detail/fnv1a.hpp"
#include "colt/core/partition.hpp"
#include "trainer.hpp"
#include "../common/adam.hpp"
#include "../common/schedule.hpp"

namespace char_mlp {

struct ElasticConfig {
  int commit_every = 10;
};

struct ElasticResult {
  TrainResult train;
  std::vector<colt::Recovery> recoveries;
  int ranks_at_end = 0;
  int first_rank = 0;                 // this rank in the first communicator
  int rank_at_end = 0;                // and in the last
  std::uint64_t parameters_hash = 0;  // FNV-1a of the final parameters' bytes
  bool survivors_agree = false;       // every survivor's hash is the same
};

// before_step(first_rank, step) runs before every step: the sample kills a rank there.
template <class Comm, class BeforeStep, class Report>
ElasticResult train_elastic(Comm& comm, const Dataset& data, const TrainConfig& config,
                            const ElasticConfig& elastic_config, BeforeStep&& before_step,
                            Report&& report) {
  using Transport = typename Comm::transport_type;
  const auto started = std::chrono::steady_clock::now();
  Model model(config.shape, config.seed);
  samples::Adam adam(tensors_of(model));
  colt::ElasticTraining<Transport> elastic(comm, {.commit_every = elastic_config.commit_every});
  for (std::size_t t = 0; t < Model::tensor_count; ++t) elastic.track(model.param(t));
  for (std::span<float> moment : adam.moments()) elastic.track(moment);
  elastic.track(std::span(&adam.steps_taken(), 1));

  colt::DataParallelOptions options;
  options.weighted = true;
  options.overlap = config.overlap;
  options.bucket_cap_bytes = config.bucket_cap_bytes;
  std::optional<colt::DataParallel<Transport>> dp;
  std::optional<samples::BatchOrder> batches;
  std::vector<Example> local;
  ElasticResult result;
  ReportWindow window;

  // On the communicator of the ranks alive, from `step` on: DataParallel over them, and the
  // batch order wound forward to `step` (every rank sees the same global batches).
  const auto reset = [&](colt::Communicator<Transport>& now, int step) {
    dp.reset();
    dp.emplace(now, options);
    for (std::size_t t = 0; t < Model::tensor_count; ++t)
      dp->add(model.param(t), model.grad(t), tensor_names[t]);
    if (step == 0) dp->broadcast_parameters(0);
    batches.emplace(data.train.size(), config.seed);
    for (int s = 0; s < step; ++s) batches->next(config.batch);
    window = ReportWindow{};
  };
  const auto train_step = [&](colt::Communicator<Transport>& now, int step) {
    before_step(elastic.first_rank(), step);
    const std::span<const std::size_t> global = batches->next(config.batch);
    const colt::partition::Range mine =
        colt::partition::range(global.size(), now.size(), now.rank());
    local.clear();
    for (std::size_t i = mine.begin; i < mine.end; ++i) local.push_back(data.train[global[i]]);
    dp->set_local_samples(static_cast<std::int64_t>(local.size()));
    const double loss = model.forward_backward(local, [&](std::size_t t) { dp->mark_ready(t); });
    dp->synchronize();
    adam.step(samples::cosine_learning_rate(config.learning_rate, step, config.steps));
    window.add(now, config, step, batches->epoch(), loss, local.size(), result.train.curve, report);
  };
  elastic.run(config.steps, train_step, reset);
  dp.reset();

  colt::Communicator<Transport>& last = elastic.communicator();
  result.train.train_loss = distributed_loss(last, model, data.train);
  result.train.validation_loss = distributed_loss(last, model, data.validation);
  for (std::size_t t = 0; t < Model::tensor_count; ++t)
    result.train.parameters.insert(result.train.parameters.end(), model.param(t).begin(),
                                   model.param(t).end());
  result.parameters_hash = colt::detail::fnv1a(std::as_bytes(std::span(result.train.parameters)));
  std::int64_t low = static_cast<std::int64_t>(result.parameters_hash), high = low;
  colt::all_reduce(last, std::span(&low, 1), colt::min{});
  colt::all_reduce(last, std::span(&high, 1), colt::max{});
  result.survivors_agree = low == high;
  result.train.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.recoveries = elastic.recoveries();
  result.ranks_at_end = last.size();
  result.rank_at_end = last.rank();
  result.first_rank = elastic.first_rank();
  return result;
}

}  // namespace char_mlp
