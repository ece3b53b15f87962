#pragma once
// Pipeline training of the deep MLP: every rank is one stage (a run of consecutive layers),
// each step's global batch flows through the stages in micro-batches, and each stage's Adam
// steps its own layers.

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "../02_data_parallel_trainer/words.hpp"
#include "../common/adam.hpp"
#include "../common/progress.hpp"
#include "../common/schedule.hpp"
#include "colt/adapters/pipeline.hpp"
#include "colt/collectives/all_reduce.hpp"
#include "deep_mlp.hpp"

namespace deep_mlp {

struct PipelineConfig {
  Shape shape;
  int steps = 600;
  std::size_t batch = 256;
  std::uint64_t seed = 1;
  double learning_rate = 0.003;
  int micro_batches = 4;
  colt::PipelineSchedule schedule = colt::PipelineSchedule::one_forward_one_backward;
  std::vector<int> layers_per_stage;  // empty: as even as possible
  int report_every = 50;
};

struct PipelineResult {
  std::vector<samples::Progress> curve;
  colt::PipelineSummary pipeline;  // over all steps: time, bubble, peak micro-batches in flight
  double validation_loss = 0;      // on the first `validation_examples` held-out examples
  std::vector<samples::Tensor> tensors;  // this stage's (after training)
  double seconds = 0;
};

inline colt::StageLayout layout_of(const PipelineConfig& c, int stages) {
  return c.layers_per_stage.empty() ? colt::StageLayout::even(c.shape.layers, stages)
                                    : colt::StageLayout::from_counts(c.layers_per_stage);
}

// `stage` must outlive the result (its tensors are spans into it).
template <class Comm, class Report>
PipelineResult train(Comm& comm, Stage& stage,
                     colt::Pipeline<typename Comm::transport_type, float>& pipe,
                     const char_mlp::Dataset& data, const PipelineConfig& config, Report&& report,
                     std::size_t validation_examples = 8192) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  samples::Adam adam(stage.tensors());
  samples::BatchOrder batches(data.train.size(), config.seed);
  std::vector<Example> batch;
  PipelineResult result;
  colt::PipelineStats total;
  double window[2] = {0, 0};
  auto window_started = clock::now();
  for (int step = 0; step < config.steps; ++step) {
    batch.clear();
    for (std::size_t i : batches.next(config.batch)) batch.push_back(data.train[i]);
    stage.begin_step(batch, config.micro_batches);
    const colt::PipelineStats s = pipe.step(stage, config.micro_batches);
    total.seconds += s.seconds;
    total.busy_seconds += s.busy_seconds;
    total.peak_in_flight = std::max(total.peak_in_flight, s.peak_in_flight);
    adam.step(samples::cosine_learning_rate(config.learning_rate, step, config.steps));
    window[0] += stage.loss_sum();  // non-zero on the last stage only
    window[1] += static_cast<double>(batch.size());
    if ((step + 1) % config.report_every == 0 || step + 1 == config.steps) {
      double loss = window[0];
      colt::all_reduce(comm, std::span<double>(&loss, 1), colt::sum{});
      const double seconds = std::chrono::duration<double>(clock::now() - window_started).count();
      samples::Progress p{step + 1, config.steps, loss / window[1],
                          seconds > 0 ? window[1] / seconds : 0.0, batches.epoch()};
      result.curve.push_back(p);
      if (comm.rank() == 0) report(p);
      window[0] = window[1] = 0;
      window_started = clock::now();
    }
  }
  result.pipeline = pipe.summarize(total);
  // Held-out loss: the same pipeline, forward and backward, without an optimizer step.
  const std::size_t n = std::min(validation_examples, data.validation.size());
  double loss = 0;
  for (std::size_t at = 0; at < n; at += config.batch) {
    const auto part =
        std::span<const Example>(data.validation).subspan(at, std::min(config.batch, n - at));
    stage.begin_step(part, config.micro_batches);
    pipe.step(stage, config.micro_batches);
    loss += stage.loss_sum();
  }
  colt::all_reduce(comm, std::span<double>(&loss, 1), colt::sum{});
  result.validation_loss = n ? loss / static_cast<double>(n) : 0.0;
  result.tensors = stage.tensors();
  result.seconds = std::chrono::duration<double>(clock::now() - started).count();
  return result;
}

}  // namespace deep_mlp
